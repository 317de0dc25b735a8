/**
 * GraphiQL served by the API itself. yoga's own page loads GraphiQL's scripts, styles and editor
 * workers from a CDN (unpkg), so without the internet it stays blank; @graphql-yoga/render-graphiql
 * inlines all of them (fonts and the favicon as data: URLs, the workers as blob: URLs), so the page
 * needs nothing but this server.
 */
import type { GraphiQLOptions } from 'graphql-yoga';

/** Removes the indentation every non-blank line shares (a template literal's, in source code). */
export function dedent(text: string): string {
  const lines = text.replace(/^\n+|\s+$/g, '').split('\n');
  const indents = lines.filter((line) => line.trim()).map((line) => line.length - line.trimStart().length);
  const common = Math.min(...indents);
  return `${lines.map((line) => line.slice(common)).join('\n')}\n`;
}

/**
 * The options as GraphiQL 5 needs them to show `defaultQuery`:
 * - GraphiQL uses `defaultQuery` only when it has no tabs stored (localStorage) from an earlier
 *   visit; on every later visit it opened an empty "<untitled>" tab instead. Given it also as the
 *   initial query (`query`, which render-graphiql hands to GraphiQL as `initialQuery`), each visit
 *   opens on it: the stored tab holding it is reselected, or a new tab holds it when the visitor
 *   changed that one (their tabs are kept; `?query=` in the address still wins).
 * - GraphiQL names a tab after the first `query|mutation|subscription <word>` on a line that does
 *   not start with `#`; indented comments do not count as comments there ("…the login mutation
 *   with…" named the tab "with"), so the query is dedented.
 */
export function graphiqlPageOptions(options: GraphiQLOptions = {}): GraphiQLOptions & { query?: string } {
  if (options.defaultQuery === undefined) return options;
  const query = dedent(options.defaultQuery);
  return { ...options, defaultQuery: query, query };
}

/**
 * yoga's `renderGraphiQL`. The page is ~8 MB and rendering it re-serialises the workers, so it is
 * rendered once per distinct options (the app's never change) and reused. The module that holds
 * it is loaded on the first visit only: its source alone is ~30 MB of heap, which a server nobody
 * opens GraphiQL on should not carry.
 */
export function graphiqlRenderer(): (options?: GraphiQLOptions) => Promise<string> {
  let last: { key: string; html: string } | undefined;
  return async (options) => {
    const key = JSON.stringify(options ?? {});
    if (last?.key !== key) {
      const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
      last = { key, html: renderGraphiQL(graphiqlPageOptions(options)) };
    }
    return last.html;
  };
}
