import { badRequest } from '../errors.ts';

/**
 * Model names are free text, as in Truss (`My Model v2`, `acme/Llama 3 8B`, `Modèle à moi`): the id is
 * what URLs, file names and headers use, and the name is what people read and type (the CLI takes it
 * wherever a model is named, `/v1` routes by it). So a name only has to be readable and unambiguous.
 */

/** At most this many characters (code points): a name is a label, not a description. */
export const MODEL_NAME_MAX = 200;

/** Control characters (tabs, newlines, ESC…), line and paragraph separators, and lone surrogates. */
const UNPRINTABLE = /[\p{Cc}\p{Zl}\p{Zp}]/u;

/**
 * The name a push records: trimmed and in Unicode NFC (so that `é` typed two ways is one model), or a
 * 400 naming what is wrong: empty, too long, or holding a character that cannot be shown on one line.
 *
 * @example
 *   modelName('  My Model v2 '); // 'My Model v2'
 *   modelName('a\nb');           // throws GirderError client_error
 */
export function modelName(raw: string | null | undefined): string {
  const name = freeTextName(raw, 'model', 'Set model_name in config.yaml (or --name) to some text of one line.');
  if (CHAINLET_NAME.test(name))
    throw badRequest(`The model name "${name}" is reserved: it names a chainlet's own model.`, 'Pick another name.');
  return name;
}

/** How chainlets' internal models are named (`chainletModelName` in records/chains.ts): no pushed model may be. */
const CHAINLET_NAME = /^chain:[a-z0-9]{8}:/;

/**
 * A chain's name, by the same rules as a model's (Truss Chains' names are free text too).
 *
 * @example
 *   chainName('Hello chain'); // 'Hello chain'
 */
export function chainName(raw: string): string {
  return freeTextName(raw, 'chain', 'Pass --name with some text of one line (the entrypoint’s class name by default).');
}

function freeTextName(raw: string | null | undefined, kind: 'model' | 'chain', fix: string): string {
  if (raw === null || raw === undefined) throw badRequest(`The ${kind} has no name.`, fix);
  const name = raw.trim().normalize('NFC');
  if (name === '') throw badRequest(`The ${kind} name is empty.`, fix);
  if (!name.isWellFormed() || UNPRINTABLE.test(name))
    throw badRequest(
      `Invalid ${kind} name ${JSON.stringify(name)}: it holds a control character or a line break.`,
      `Remove it. ${fix}`,
    );
  const length = [...name].length;
  if (length > MODEL_NAME_MAX)
    throw badRequest(
      `Invalid ${kind} name: ${length} characters, the most is ${MODEL_NAME_MAX}.`,
      kind === 'model'
        ? 'Pick a shorter model_name (or --name); model_metadata and description hold longer text.'
        : fix,
    );
  return name;
}
