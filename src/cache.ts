/**
 * Tensors kept for a whole process (the digit stacks, the training rows), keyed by name. A cached
 * tensor is only as good as the backend holding its data: when another backend becomes active
 * (tests switch them; from plain cpu the convolutional net moves to wasm), the entry is built again rather than
 * trusted. This is plumbing for the lessons, not part of the chapter.
 */
import { tf } from './backend';

/** Every tensor inside `value`: itself, or the tensors of an array or of an object's fields. */
export function tensorsIn(value: unknown): tf.Tensor[] {
  if (value instanceof tf.Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(tensorsIn);
  return [];
}

/** Frees tensors whose backend may be gone (then there is nothing left to free). */
function disposeQuietly(tensors: tf.Tensor[]): void {
  try {
    tf.dispose(tensors);
  } catch {
    // their data went with a backend that was removed
  }
}

/**
 * `cache.get(key, make)`: the value made once per key and backend. Values hold tensors (found by
 * `tensorsOf`, default: every tensor inside the value); they belong to the cache, so callers must
 * not dispose them. `clear()` frees them all.
 */
export class BackendCache<T> {
  private entries = new Map<string, { value: T; backend: unknown; tensors: tf.Tensor[] }>();

  get(key: string, make: () => T, tensorsOf: (value: T) => tf.Tensor[] = tensorsIn): T {
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.backend === tf.backend() && hit.tensors.every((t) => !t.isDisposed)) return hit.value;
    if (hit !== undefined) disposeQuietly(hit.tensors);
    const value = make();
    this.entries.set(key, { value, backend: tf.backend(), tensors: tensorsOf(value) });
    return value;
  }

  /** Frees the entries whose key starts with `prefix` (every entry without one). */
  clear(prefix = ''): void {
    for (const [key, { tensors }] of [...this.entries]) {
      if (!key.startsWith(prefix)) continue;
      disposeQuietly(tensors);
      this.entries.delete(key);
    }
  }
}

const shared = new BackendCache<unknown>();

/**
 * `make()` run once per key (and backend) for the whole process: the lessons keep the digit stacks
 * and the training rows this way. The value's tensors belong to the cache: do not dispose them.
 */
export function cached<T>(key: string, make: () => T): T {
  return shared.get(key, make) as T;
}

/** Frees what `cached` keeps under keys starting with `prefix` (everything without one); later calls make it again. */
export function releaseCached(prefix = ''): void {
  shared.clear(prefix);
}
