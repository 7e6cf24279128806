import { Select } from 'antd';
import { GlobalOutlined } from '@ant-design/icons';
import { useI18n } from '../i18n';
import type { Lang } from '../i18n';

const NAMES: Record<Lang, string> = { en: 'English', 'zh-CN': '简体中文' };

export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  return (
    <Select<Lang>
      data-testid="language-switcher"
      aria-label={t('lang.label')}
      size="small"
      value={lang}
      onChange={setLang}
      suffixIcon={<GlobalOutlined />}
      popupMatchSelectWidth={false}
      variant="borderless"
      options={(Object.keys(NAMES) as Lang[]).map((value) => ({
        value, label: <span data-testid={`language-option-${value}`}>{NAMES[value]}</span>,
      }))}
    />
  );
}
