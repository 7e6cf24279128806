"""Static reference tables for the demo data generator.

Kept apart from the behaviour code so that tuning realism (names, cities,
prices, devices) never touches the simulation logic.
"""

from __future__ import annotations

from typing import Final

SURNAMES: Final = (
    "王",
    "李",
    "张",
    "刘",
    "陈",
    "杨",
    "黄",
    "赵",
    "吴",
    "周",
    "徐",
    "孙",
    "马",
    "朱",
    "胡",
    "郭",
    "何",
    "林",
    "高",
    "罗",
    "郑",
    "梁",
    "谢",
    "宋",
    "唐",
    "许",
    "韩",
    "冯",
    "邓",
    "曹",
)
GIVEN_MALE: Final = (
    "伟",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "杰",
    "涛",
    "斌",
    "超",
    "明",
    "浩",
    "宇",
    "鹏",
    "俊",
    "子轩",
    "浩然",
    "宇航",
    "志强",
    "建国",
)
GIVEN_FEMALE: Final = (
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "霞",
    "婷",
    "雪",
    "琳",
    "欣怡",
    "梓涵",
    "雨桐",
    "诗涵",
    "思雨",
    "佳怡",
    "晓燕",
    "丹",
    "颖",
)

# Weighted roughly by internet-user population so city breakdowns look plausible.
CITIES: Final = (
    ("上海", 9.0),
    ("北京", 8.5),
    ("深圳", 7.0),
    ("广州", 7.0),
    ("杭州", 5.5),
    ("成都", 5.5),
    ("重庆", 4.5),
    ("武汉", 4.5),
    ("南京", 4.0),
    ("西安", 3.5),
    ("苏州", 3.5),
    ("天津", 3.0),
    ("长沙", 3.0),
    ("郑州", 2.5),
    ("青岛", 2.0),
    ("厦门", 1.5),
    ("昆明", 1.5),
    ("合肥", 1.5),
    ("沈阳", 1.5),
    ("哈尔滨", 1.0),
)

# (category, product nouns, min price, max price) in CNY.
CATEGORIES: Final = (
    ("数码", ("蓝牙耳机", "充电宝", "智能手表", "机械键盘", "平板电脑", "手机壳"), 39.0, 4999.0),
    ("服饰", ("卫衣", "羽绒服", "牛仔裤", "连衣裙", "运动鞋", "T恤"), 59.0, 899.0),
    ("美妆", ("口红", "面膜", "精华液", "防晒霜", "粉底液", "卸妆水"), 29.0, 699.0),
    ("食品", ("坚果礼盒", "速溶咖啡", "螺蛳粉", "牛奶", "零食大礼包", "茶叶"), 9.9, 299.0),
    ("家居", ("四件套", "收纳箱", "香薰", "台灯", "保温杯", "拖鞋"), 19.9, 599.0),
    ("母婴", ("纸尿裤", "奶粉", "婴儿湿巾", "儿童绘本", "玩具"), 29.0, 499.0),
    ("运动", ("瑜伽垫", "跳绳", "哑铃", "速干衣", "登山包"), 19.0, 799.0),
    ("图书", ("小说", "考研资料", "漫画", "编程指南", "历史读物"), 15.0, 129.0),
)
PRODUCT_ADJECTIVES: Final = ("爆款", "新款", "经典", "轻奢", "国潮", "加厚", "便携", "限量")

# Relative share of sessions starting in each local (Asia/Shanghai) hour:
# quiet overnight, a lunch peak and the big evening peak around 21:00.
HOUR_WEIGHTS: Final = (
    1.4,
    0.7,
    0.35,
    0.2,
    0.2,
    0.3,
    0.8,
    1.8,
    2.6,
    2.8,
    3.0,
    3.3,
    4.0,
    3.8,
    3.0,
    2.9,
    3.0,
    3.2,
    3.6,
    4.4,
    5.2,
    5.6,
    5.0,
    3.0,
)

IOS_VERSIONS: Final = ("16.7.10", "17.5.1", "17.6.1", "18.0.1", "18.1", "18.2")
IOS_MODELS: Final = (
    "iPhone13,2",
    "iPhone14,5",
    "iPhone15,2",
    "iPhone15,4",
    "iPhone16,1",
    "iPhone17,1",
)
ANDROID_VERSIONS: Final = ("11", "12", "13", "14", "15")
ANDROID_MODELS: Final = (
    ("HUAWEI", "ALN-AL00"),
    ("HUAWEI", "NOH-AN00"),
    ("Xiaomi", "23127PN0CC"),
    ("Xiaomi", "2211133C"),
    ("OPPO", "PHZ110"),
    ("vivo", "V2309A"),
    ("HONOR", "BVL-AN00"),
    ("OnePlus", "PJD110"),
    ("samsung", "SM-S9210"),
)
APP_VERSIONS: Final = (
    ("3.2.1", "321", 0.55),
    ("3.2.0", "320", 0.25),
    ("3.1.4", "314", 0.15),
    ("3.0.9", "309", 0.05),
)
CARRIERS: Final = ("中国移动", "中国联通", "中国电信")

WEB_AGENTS: Final = (
    (
        "iOS",
        "17.6.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) "
        "NetType/WIFI Language/zh_CN",
    ),
    (
        "Android",
        "14",
        "Mozilla/5.0 (Linux; Android 14; ALN-AL00 Build/HUAWEIALN-AL00; wv) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
        "MMWEBSDK/20240301 "
        "MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin NetType/5G Language/zh_CN",
    ),
    (
        "Windows",
        "10",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
    ),
    (
        "Mac OS X",
        "10.15.7",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    ),
    (
        "Android",
        "13",
        "Mozilla/5.0 (Linux; Android 13; V2309A) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/118.0.0.0 Mobile Safari/537.36 VivoBrowser/20.1.0.0",
    ),
)

INVITE_CHANNELS: Final = (
    ("wechat", 0.62),
    ("wechat_moments", 0.18),
    ("qq", 0.1),
    ("weibo", 0.05),
    ("sms", 0.05),
)
SIGNUP_METHODS: Final = (("phone", 0.55), ("wechat", 0.35), ("apple", 0.06), ("email", 0.04))
PAYMENT_METHODS: Final = (("wechat_pay", 0.55), ("alipay", 0.38), ("unionpay", 0.07))

SITE: Final = "https://m.youxuan-demo.cn"
APP_NAME: Final = "优选"
