/** What every builder shares: the vega-lite 5 schema and the common options. */
import type { TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

/** vega-lite 5: what JupyterLab 4 and VS Code render (MIME application/vnd.vegalite.v5+json). */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

export interface BaseOptions {
  title?: string;
  /** Plot width in pixels. */
  width?: number;
  /** Plot height in pixels. */
  height?: number;
}

/** A title block, or nothing when there is no title. */
export function titleOf(title: string | undefined): { title?: string } {
  return title === undefined ? {} : { title };
}

/** Checks that a size option is a positive number. */
export function checkSize(value: number | undefined, name: string): void {
  if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
    throw new Error(`${name}: expected a positive number of pixels, got ${value}`);
  }
}
