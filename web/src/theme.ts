import type { ThemeConfig } from 'antd';

/** The console's Ant Design theme. The build extracts Ant Design's styles for exactly this
 * theme (antd-static-css.ts), so the app and the extraction must share it. */
export const THEME: ThemeConfig = { token: { colorPrimary: '#1677ff', borderRadius: 6 } };
