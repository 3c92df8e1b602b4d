/** `girder serve --examples` (npm start): the Hello chain deployed beside the models, and how to call it. */
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { packDir } from '../../control/packaging/bundle.ts';
import type { Girder } from '../../girder.ts';
import { receiveChainPush } from '../../runtime/chain-push.ts';
import { curlSnippet } from '../snippets.ts';

const HELLO_CHAIN = fileURLToPath(new URL('../../../examples/hello-chain/', import.meta.url));
const INPUT = { names: ['Marius', 'Sid', 'Bola'] };

/**
 * Pushes examples/hello-chain (once: a restart finds it deployed) and prints a curl and the seed's
 * `call_chain.py` for its production environment. A failure is printed, not thrown: the models serve on.
 */
export async function deployHelloChain(g: Girder): Promise<void> {
  let chain = g.chainRegistry.chainByName('hello-chain');
  try {
    if (!chain) {
      const r = await receiveChainPush(
        g,
        g.options.dataDir,
        Readable.from(packDir(HELLO_CHAIN)),
        { file: 'chain.ts', name: 'hello-chain' },
        g.options.maxPushBytes,
      );
      chain = r.chain;
    }
  } catch (err) {
    console.log(`  skipping the Hello chain: ${(err as Error).message}`);
    return;
  }
  const url = `${g.url}/chain-${chain.id}/production/run_remote`;
  console.log(
    [
      '# hello-chain (examples/hello-chain/chain.ts)',
      curlSnippet(url, INPUT),
      '',
      "# Python, the seed's call_chain.py with only CHAIN_URL and the key changed:",
      'import requests',
      'import os',
      `CHAIN_URL = ${JSON.stringify(url)}`,
      'baseten_api_key = os.environ["GIRDER_API_KEY"]',
      `data = ${JSON.stringify(INPUT)}`,
      'resp = requests.post(',
      '    CHAIN_URL,',
      '    headers={"Authorization": f"Api-Key {baseten_api_key}"},',
      '    json=data,',
      ')',
      'print(resp.json())',
      '',
    ].join('\n'),
  );
}
