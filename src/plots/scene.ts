/**
 * Reading a rendered plot's scenegraph: the marks vega drew and where. Tests and graders' checks use
 * this to assert what a figure shows (a line's extent, a cell's colour, a label's text).
 */
import type * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { renderView } from './render';

/** One drawn item; which fields are set depends on the mark type. */
export interface DrawnItem {
  x?: number;
  y?: number;
  width?: number;
  height?: number;
  fill?: string;
  stroke?: string;
  text?: string | string[];
  url?: string;
  datum?: Record<string, unknown>;
  /** Offset of the enclosing groups (add to x/y to get positions in the whole chart). */
  originX: number;
  originY: number;
}

/** A user-level mark (axes, legends and titles excluded) and its items. */
export interface DrawnMark {
  marktype: string;
  name: string;
  items: DrawnItem[];
}

interface RawMark { marktype: string; role: string; name?: string; items: RawItem[] }
interface RawItem extends Omit<DrawnItem, 'originX' | 'originY'> { items?: RawMark[] }

function walk(mark: RawMark, ox: number, oy: number, out: DrawnMark[]): void {
  if (mark.role === 'axis' || mark.role === 'legend' || mark.role === 'title') return;
  if (mark.marktype === 'group') {
    for (const item of mark.items) {
      for (const child of item.items ?? []) walk(child, ox + (item.x ?? 0), oy + (item.y ?? 0), out);
    }
    return;
  }
  if (mark.role !== 'mark') return;
  const items = mark.items.map(({ items: _ignored, ...rest }) => ({ ...rest, originX: ox, originY: oy }));
  out.push({ marktype: mark.marktype, name: mark.name ?? '', items });
}

/** The user-level marks of a run view, in drawing order. */
export function drawnMarks(view: vega.View): DrawnMark[] {
  const out: DrawnMark[] = [];
  walk((view.scenegraph() as unknown as { root: RawMark }).root, 0, 0, out);
  return out;
}

/** Renders the spec headlessly and returns its marks and the view (finalize it when done). */
export async function inspectPlot(spec: TopLevelSpec): Promise<{ view: vega.View; marks: DrawnMark[] }> {
  const view = await renderView(spec);
  return { view, marks: drawnMarks(view) };
}
