// Deterministic tensor lifetimes in a garbage-collected language.
//
// Every tensor created while a scope is open belongs to it. When `tidy(fn)` returns, the tensors
// its scope collected are freed, except those reachable from fn's return value (which move to the
// enclosing scope) and those marked with `keep`. Tensors created outside any scope live until
// `dispose()` or until the collector finds them unreachable. V8 is told the memory of those alone
// (`unscoped`), the moment a tensor has no scope: told of every tensor a step makes and frees, it
// collected every few tens of milliseconds and slowed training by a quarter.

/** What a scope needs to know about a tensor. */
export interface ScopedTensor {
  dispose(): void;
  /** No scope will free it: from now on the collector does, and must know what it holds. */
  unscoped(): void;
}

const scopes: Set<ScopedTensor>[] = [];

/** Called by the Tensor constructor. */
export function track(t: ScopedTensor): void {
  const scope = scopes[scopes.length - 1];
  if (scope) scope.add(t);
  else t.unscoped();
}

/** Removes `t` from every open scope, so it outlives them; free it yourself with `dispose()`. */
export function keep<T extends ScopedTensor>(t: T): T {
  for (const scope of scopes) scope.delete(t);
  t.unscoped();
  return t;
}

/** Collects the tracked tensors reachable from a return value (arrays, plain objects, Maps). */
function reachable(value: unknown, scope: Set<ScopedTensor>, found: Set<ScopedTensor>, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (scope.has(value as ScopedTensor)) {
    found.add(value as ScopedTensor);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) reachable(v, scope, found, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) reachable(v, scope, found, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) reachable(v, scope, found, seen);
  }
}

/**
 * Runs `fn` and frees every tensor it created, except those it returns (directly or inside
 * arrays, plain objects or Maps) and those passed to `keep`. Synchronous only: an async function
 * would let the scope close before its tensors exist.
 */
export function tidy<R>(fn: () => R): R {
  const scope = new Set<ScopedTensor>();
  scopes.push(scope);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new TypeError('tidy(fn): fn returned a Promise; tidy only works with synchronous functions');
  }
  const survivors = new Set<ScopedTensor>();
  reachable(result, scope, survivors, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (!survivors.has(t)) t.dispose();
    else if (parent) parent.add(t);
    else t.unscoped();
  }
  return result;
}

/** How many scopes are open (for tests and diagnostics). */
export function scopeDepth(): number {
  return scopes.length;
}
