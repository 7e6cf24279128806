import { createHash } from 'node:crypto';
import { createElement } from 'react';
import type { ReactElement } from 'react';
import type { Plugin } from 'vite';

/**
 * Ant Design's styles extracted at build time into one CSS file that index.html links.
 *
 * Ant Design 5 computes its CSS in the browser (CSS-in-JS): on the first render of every screen
 * each component builds its style objects, serialises them and inserts <style> tags, about a
 * third of the page's script time before a chart shows. The extracted file carries, besides the
 * CSS, the map of the styles it holds (a `data-ant-cssinjs-cache-path` rule); Ant Design reads
 * it at start and skips building every style found there. Components the extractor cannot
 * render on their own (Modal, Drawer, Tooltip, Popover, ...) still build theirs when they open.
 *
 * The extraction renders every component with the console's theme (src/theme.ts): a theme that
 * differs would only make the map miss, and the page would build its styles as before.
 */
export function antdStaticCss(): Plugin {
  let fileName = '';
  let css = '';
  return {
    name: 'userops-antd-static-css',
    apply: 'build',
    async buildStart() {
      const { extractStyle } = await import('@ant-design/static-style-extract');
      const { ConfigProvider } = await import('antd');
      const { THEME } = await import('./src/theme');
      css = extractStyle((node: ReactElement) =>
        createElement(ConfigProvider, { theme: THEME }, node));
      const hash = createHash('sha256').update(css).digest('hex').slice(0, 8);
      fileName = `assets/antd-${hash}.css`;
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName, source: css });
    },
    transformIndexHtml: {
      order: 'post',
      handler: () => [{
        tag: 'link', attrs: { rel: 'stylesheet', href: `/${fileName}` }, injectTo: 'head-prepend',
      }],
    },
  };
}
