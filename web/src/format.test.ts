import { describe, expect, it } from 'vitest';
import {
  formatAgo, formatBucket, formatChange, formatCompact, formatDateTime, formatDay, formatDuration,
  formatMoney, formatNumber, formatPercent, localDay,
} from './format';

describe('numbers', () => {
  it('groups digits and rounds to two decimals', () => {
    expect(formatNumber(12345.678, 'en')).toBe('12,345.68');
    expect(formatNumber(12345.678, 'zh-CN')).toBe('12,345.68');
    expect(formatNumber(991, 'en')).toBe('991');
    expect(formatNumber(null, 'en')).toBe('—');
  });

  it('shows shares as percentages with one decimal', () => {
    expect(formatPercent(0.1834, 'en')).toBe('18.3%');
    expect(formatPercent(0.1834, 'zh-CN')).toBe('18.3%');
    expect(formatPercent(1, 'en')).toBe('100.0%');
    expect(formatPercent(null, 'zh-CN')).toBe('—');
  });

  it('signs a change', () => {
    expect(formatChange(0.12, 'en')).toBe('+12.0%');
    expect(formatChange(-0.218, 'en')).toBe('-21.8%');
    expect(formatChange(0, 'en')).toBe('0.0%');
    expect(formatChange(null, 'en')).toBe('—');
  });

  it('formats money and compact counts per locale', () => {
    expect(formatMoney(1234.5, 'CNY', 'en')).toBe('CN¥1,234.50');
    expect(formatMoney(1234.5, 'CNY', 'zh-CN')).toBe('¥1,234.50');
    expect(formatMoney(10, 'NOPE1', 'en')).toBe('10 NOPE1');
    expect(formatCompact(12345, 'en')).toBe('12.3K');
    expect(formatCompact(12345, 'zh-CN')).toBe('1.2万');
  });
});

describe('dates', () => {
  const instant = '2026-11-23T16:30:05Z';

  it('shows an instant in the project time zone', () => {
    expect(formatDateTime(instant, 'en', 'Asia/Shanghai')).toBe('11/24/2026, 00:30:05');
    expect(formatDateTime(instant, 'zh-CN', 'Asia/Shanghai')).toBe('2026/11/24 00:30:05');
    expect(formatDateTime(instant, 'en', 'America/New_York')).toBe('11/23/2026, 11:30:05');
    expect(formatDateTime(null, 'en', 'UTC')).toBe('—');
  });

  it('falls back to UTC for an unknown zone instead of throwing', () => {
    expect(formatDateTime(instant, 'en', 'Not/AZone')).toBe('11/23/2026, 16:30:05');
  });

  it('takes the local day in a zone', () => {
    expect(localDay(new Date(instant), 'Asia/Shanghai')).toBe('2026-11-24');
    expect(localDay(new Date(instant), 'UTC')).toBe('2026-11-23');
  });

  it('formats bucket labels as they are, without shifting them', () => {
    expect(formatBucket('2026-11-23', 'en')).toBe('Nov 23');
    expect(formatBucket('2026-11-23', 'zh-CN')).toBe('11月23日');
    expect(formatBucket('2026-11-01', 'en', 'month')).toBe('Nov 2026');
    expect(formatBucket('2026-11-23 14:00', 'en', 'hour')).toBe('Nov 23, 14:00');
    expect(formatDay('2026-11-23', 'zh-CN')).toBe('2026年11月23日');
    expect(formatDay('2026-11-23', 'en')).toBe('Nov 23, 2026');
  });

  it('formats durations with the two largest units', () => {
    expect(formatDuration(5400, 'en')).toBe('1h 30m');
    expect(formatDuration(5400, 'zh-CN')).toBe('1小时30分钟');
    expect(formatDuration(153.5, 'en')).toBe('2m 34s');
    expect(formatDuration(90000, 'en')).toBe('1d 1h');
    expect(formatDuration(86400 + 20, 'en')).toBe('1d');
    expect(formatDuration(0, 'en')).toBe('0s');
    expect(formatDuration(null, 'en')).toBe('—');
  });
});

describe('formatAgo', () => {
  const now = Date.UTC(2026, 10, 23, 12, 0, 0);
  const before = (seconds: number) => new Date(now - seconds * 1000).toISOString();
  it('says how long ago in the largest whole unit, per language', () => {
    expect(formatAgo(before(0), 'en', now)).toBe('0 seconds ago');
    expect(formatAgo(before(59), 'en', now)).toBe('59 seconds ago');
    expect(formatAgo(before(60), 'en', now)).toBe('1 minute ago');
    expect(formatAgo(before(3 * 3600 + 59 * 60), 'en', now)).toBe('3 hours ago');
    expect(formatAgo(before(2 * 86400), 'en', now)).toBe('2 days ago');
    expect(formatAgo(before(180), 'zh-CN', now)).toBe('3分钟前');
  });
  it('never says "in" for a clock slightly behind the server, and passes bad input through', () => {
    expect(formatAgo(new Date(now + 5000).toISOString(), 'en', now)).toBe('0 seconds ago');
    expect(formatAgo(null, 'en', now)).toBe('—');
    expect(formatAgo('soon', 'en', now)).toBe('soon');
  });
});
