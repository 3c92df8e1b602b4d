import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GirderError } from '../errors.ts';
import { MODEL_NAME_MAX, modelName } from './model-name.ts';

const refusal = (raw: string | null): GirderError => {
  try {
    modelName(raw);
  } catch (err) {
    assert.ok(err instanceof GirderError);
    assert.equal(err.code, 'client_error');
    return err;
  }
  assert.fail(`${JSON.stringify(raw)} was accepted`);
};

test('model names are free text, as in Truss: spaces, slashes, unicode', () => {
  for (const name of ['My Model v2', 'acme/Llama 3 8B', 'Modèle à moi', '模型 🚀', 'a:b?c#d&e%20'])
    assert.equal(modelName(name), name);
});

test('a name is trimmed and kept in NFC, so one name typed two ways is one model', () => {
  assert.equal(modelName('  My Model v2\u3000'), 'My Model v2');
  assert.equal(modelName('Cafe\u0301'), 'Caf\u00e9');
});

test('an empty, too long or unprintable name is a 400 saying what is wrong', () => {
  assert.match(refusal(null).message, /no name/);
  assert.match(refusal('   ').message, /empty/);
  assert.match(refusal('a\nb').message, /control character or a line break/);
  assert.match(refusal('tab\there').message, /control character/);
  assert.match(refusal('bad\u0000').message, /control character/);
  assert.match(refusal('lone \ud800').message, /control character/);
  assert.equal(modelName('x'.repeat(MODEL_NAME_MAX)).length, MODEL_NAME_MAX);
  assert.match(refusal('x'.repeat(MODEL_NAME_MAX + 1)).message, /201 characters, the most is 200/);
});

test('a name shaped like a chainlet’s own model (chain:{id}:{chainlet}) is reserved', () => {
  assert.match(refusal('chain:abcd1234:SayHello').message, /reserved/);
  assert.equal(modelName('chain: a story'), 'chain: a story');
});
