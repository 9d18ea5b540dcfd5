/**
 * Turns a cell's iopub messages into notebook outputs the way nbclient does: streams of the same
 * name merge, update_display_data replaces every earlier output with that display_id (in any
 * cell), clear_output empties the cell (at the next output when `wait` is set).
 */
import { JupyterMessage } from './wire';
import { DisplayDataOutput, ExecuteResultOutput, MimeData, Output, JsonObject } from './nbformat';

type DisplayOutput = DisplayDataOutput | ExecuteResultOutput;

function asObject(value: unknown): JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : {};
}

function displayId(content: JsonObject): string | undefined {
  const id = asObject(content.transient).display_id;
  return typeof id === 'string' ? id : undefined;
}

/** One per notebook run: display ids live as long as the kernel. */
export class OutputCollector {
  private readonly byDisplayId = new Map<string, DisplayOutput[]>();
  private outputs: Output[] = [];
  private clearPending = false;
  /** The execution count the kernel announced with execute_input, if any. */
  executionCount: number | null = null;

  /** Starts collecting a new cell's outputs. */
  startCell(): Output[] {
    this.outputs = [];
    this.clearPending = false;
    this.executionCount = null;
    return this.outputs;
  }

  get current(): Output[] {
    return this.outputs;
  }

  handle(message: JupyterMessage): void {
    const c = message.content;
    switch (message.header.msg_type) {
      case 'execute_input':
        if (typeof c.execution_count === 'number') this.executionCount = c.execution_count;
        return;
      case 'stream':
        return this.addStream(c.name === 'stderr' ? 'stderr' : 'stdout', typeof c.text === 'string' ? c.text : '');
      case 'display_data':
        return this.addDisplay({ output_type: 'display_data', data: asObject(c.data) as MimeData, metadata: asObject(c.metadata) }, c);
      case 'execute_result':
        return this.addDisplay(
          {
            output_type: 'execute_result',
            execution_count: typeof c.execution_count === 'number' ? c.execution_count : null,
            data: asObject(c.data) as MimeData,
            metadata: asObject(c.metadata),
          },
          c,
        );
      case 'update_display_data':
        return this.update(c);
      case 'error':
        this.flushClear();
        this.outputs.push({
          output_type: 'error',
          ename: String(c.ename ?? 'Error'),
          evalue: String(c.evalue ?? ''),
          traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
        });
        return;
      case 'clear_output':
        if (c.wait === true) this.clearPending = true;
        else this.outputs.length = 0;
        return;
      default:
        return;
    }
  }

  private flushClear(): void {
    if (!this.clearPending) return;
    this.clearPending = false;
    this.outputs.length = 0;
  }

  private addStream(name: 'stdout' | 'stderr', text: string): void {
    this.flushClear();
    const last = this.outputs[this.outputs.length - 1];
    if (last && last.output_type === 'stream' && last.name === name) {
      last.text = (Array.isArray(last.text) ? last.text.join('') : last.text) + text;
      return;
    }
    this.outputs.push({ output_type: 'stream', name, text });
  }

  private addDisplay(output: DisplayOutput, content: JsonObject): void {
    this.flushClear();
    this.outputs.push(output);
    const id = displayId(content);
    if (id === undefined) return;
    const list = this.byDisplayId.get(id) ?? [];
    list.push(output);
    this.byDisplayId.set(id, list);
  }

  private update(content: JsonObject): void {
    const id = displayId(content);
    if (id === undefined) return;
    for (const target of this.byDisplayId.get(id) ?? []) {
      target.data = asObject(content.data) as MimeData;
      target.metadata = asObject(content.metadata);
    }
  }
}
