/**
 * vega-lite 5 spec -> vega spec -> SVG, in Node: no browser and no canvas (vega's 'none' renderer
 * with its string SVG output).
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** Compiles a vega-lite spec to a vega spec; a bad spec throws with vega-lite's reason. */
export function compileSpec(spec: TopLevelSpec): vega.Spec {
  try {
    return compile(spec).spec;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`compileSpec: vega-lite could not compile the spec: ${reason}`);
  }
}

/** A headless vega View of the spec, already run (its data, scales and scenegraph are ready). Finalize it when done. */
export async function renderView(spec: TopLevelSpec): Promise<vega.View> {
  const view = new vega.View(vega.parse(compileSpec(spec)), { renderer: 'none' });
  await view.runAsync();
  return view;
}

/** Renders the spec to an SVG document string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = await renderView(spec);
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
