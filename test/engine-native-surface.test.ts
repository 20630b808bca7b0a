// The addon's functions are declared twice, in C++ (native/addon.cc's list) and in TypeScript
// (src/torch/native.ts): tsc holds the TypeScript list and its signatures together, and this
// test holds the TypeScript list to what the built addon exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NATIVE_FUNCTIONS, addonExports } from '../src/torch/native.js';

test('the addon exports exactly the functions NATIVE_FUNCTIONS declares', () => {
  const exported = Object.keys(addonExports);
  const declared = new Set<string>(NATIVE_FUNCTIONS);
  const undeclared = exported.filter((name) => !declared.has(name));
  const missing = NATIVE_FUNCTIONS.filter((name) => !exported.includes(name));
  assert.deepEqual(undeclared, [], `exported by the addon but not declared in native.ts: ${undeclared.join(', ')}`);
  assert.deepEqual(missing, [], `declared in native.ts but not exported by the addon: ${missing.join(', ')}`);
  assert.equal(new Set(NATIVE_FUNCTIONS).size, NATIVE_FUNCTIONS.length, 'a name is listed twice');
  for (const name of exported) assert.equal(typeof addonExports[name], 'function', name);
});
