import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSpan, splice, topLevelFields } from './body-scan.ts';
import { SseRewriter } from './sse.ts';

const FIELDS = ['model', 'stream', 'stream_options'] as const;

/** The scanner's reading of each wanted field, compared with JSON.parse's. */
function agrees(text: string): void {
  const buf = Buffer.from(text);
  const f = topLevelFields(buf, FIELDS);
  assert.ok(f, text);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  for (const k of FIELDS) assert.deepEqual(parseSpan(buf, f[k]), parsed[k], `${k} of ${text}`);
}

test('top-level fields are found as JSON.parse reads them, nested look-alikes skipped', () => {
  agrees('{"model":"m","messages":[{"role":"user","content":"{\\"model\\":\\"no\\"}"}]}');
  agrees('{"messages":[{"model":"nested"}],"model":"top","stream":true}');
  agrees(' {\n "stream" : false ,\t"model" :"a\\\\", "stream_options":{"include_usage":true}}\n');
  agrees('{"x":[1,[2,{"y":"]}"}]],"model":"after-brackets","z":null}');
  agrees('{"mod\\u0065l":"escaped-key"}');
  agrees('{"model":"first","model":"last"}');
  agrees('{"content":"\\\\\\"","model":"after-escapes"}');
  agrees('{}');
});

test('what is not one JSON object is refused', () => {
  for (const bad of ['', '[]', '"x"', '{"model":"m"', '{"model" "m"}', '{"model":"m"} x', '{"a":"unclosed}', '{,}']) {
    assert.equal(topLevelFields(Buffer.from(bad), FIELDS), null, bad);
  }
});

test('splice replaces and inserts, leaving every other byte', () => {
  const buf = Buffer.from('{"model":"a", "x": 1}');
  const f = topLevelFields(buf, FIELDS)!;
  const out = splice(buf, [
    { ...f.model!, text: '"b"' },
    { start: 1, end: 1, text: '"stream_options":{"include_usage":true},' },
  ]);
  assert.equal(out.toString(), '{"stream_options":{"include_usage":true},"model":"b", "x": 1}');
  assert.equal(splice(buf, []), buf);
});

const event = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

test('SSE: events split anywhere are rewritten whole, usage kept, the asked-for usage chunk dropped', () => {
  const text =
    event({ id: 1, model: 'up', choices: [{ delta: { content: 'a' } }] }) +
    ': a comment\n\n' +
    event({ id: 2, model: 'up', choices: [], usage: { prompt_tokens: 2, completion_tokens: 5 } }) +
    'data: [DONE]\n\n';
  for (let cut = 1; cut < text.length; cut += 7) {
    const sse = new SseRewriter('"asked"', true);
    const out = [sse.push(Buffer.from(text.slice(0, cut))), sse.push(Buffer.from(text.slice(cut))), sse.end()];
    const got = Buffer.concat(out.filter((b) => b !== undefined)).toString();
    assert.equal(
      got,
      `${event({ id: 1, model: 'asked', choices: [{ delta: { content: 'a' } }] })}: a comment\n\ndata: [DONE]\n\n`,
    );
    assert.deepEqual(sse.tokens, { prompt: 2, completion: 5 });
  }
});

test('SSE: unchanged events leave as the same bytes; CRLF framing works', () => {
  const sse = new SseRewriter('"m"', false);
  const chunk = Buffer.from(`${event({ model: 'm', choices: [] })}data: {"model":"m"}\r\n\r\n`);
  assert.equal(sse.push(chunk), chunk);
  const renamed = new SseRewriter('"n"', false);
  assert.equal(renamed.push(Buffer.from('data: {"model":"m"}\r\n\r\n')).toString(), 'data: {"model":"n"}\r\n\r\n');
});
