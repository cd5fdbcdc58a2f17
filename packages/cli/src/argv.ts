// The words of a command line before yargs reads them, so that nothing is
// guessed: short-option clusters are split the way the tool ikc imitates
// splits them (getopt for ss, procps's SysV rules for ps; ip takes whole words
// only), a value is joined to its option (`--sort -pid` -> `--sort=-pid`, so a
// value that starts with '-' is never read as options), a flag given a value
// and a single-value option given twice are refused. main.ts runs it on the
// words after the command name, with the table of that command's options.
import type { Argv } from 'yargs';
import { UsageError, type ClusterStyle } from './command.js';

/** Every name (aliases too) of a command's options, and what each takes. */
export interface OptionTable {
  /** Options without a value (booleans, counts). */
  flags: Set<string>;
  /** Options that take one value. */
  values: Set<string>;
  /** Option name -> the name of its option group (the first name declared), to count repeats. */
  canonical: Map<string, string>;
  /** Canonical names that may be given more than once (their values add up). */
  repeatable: Set<string>;
}

interface YargsOptions {
  boolean: string[];
  count: string[];
  string: string[];
  number: string[];
  key: Record<string, boolean>;
  alias: Record<string, string[]>;
  choices: Record<string, unknown>;
}

/** The option table of a command: yargs' own record of what `builder` declared, plus the global options. */
export function optionTable(builder: (y: Argv) => Argv<unknown>, yargsFactory: () => Argv, repeatable: readonly string[] = []): OptionTable {
  const y = builder(yargsFactory().option('broker', { type: 'string' }).help().version(false));
  const o = (y as unknown as { getOptions(): YargsOptions }).getOptions();
  const canonical = new Map<string, string>();
  for (const [key, aliases] of Object.entries(o.alias)) {
    for (const name of [key, ...aliases]) if (!canonical.has(name)) canonical.set(name, key);
  }
  for (const key of Object.keys(o.key)) if (!canonical.has(key)) canonical.set(key, key);
  const group = (names: string[]) => new Set(names.flatMap((n) => [n, ...(o.alias[n] ?? [])]));
  const flags = group([...o.boolean, ...o.count, 'help']);
  const values = new Set([...canonical.keys()].filter((n) => !flags.has(n)));
  return { flags, values, canonical, repeatable: new Set(repeatable.map((n) => canonical.get(n) ?? n)) };
}

const dash = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);

/** Why a letter of a cluster is refused, in the words of the tool's own rules. */
function unknownLetter(style: ClusterStyle, letter: string, word: string): UsageError {
  if (style === 'procps') {
    return new UsageError(
      `unknown option '${letter}' in '${word}': procps would reread the whole word as BSD options, which ikc does not guess; give each option on its own (e.g. -e -p 1)`,
    );
  }
  return new UsageError(`unknown option '-${letter}' in '${word}'`);
}

/** Turns the words after the command name into words yargs reads exactly as the tool would. */
export function normalizeArgs(words: readonly string[], table: OptionTable, style: ClusterStyle): string[] {
  const out: string[] = [];
  const seen = new Map<string, string>();
  const count = (name: string, typed: string) => {
    const key = table.canonical.get(name) ?? name;
    if (!table.values.has(name) || table.repeatable.has(key)) return;
    const before = seen.get(key);
    if (before !== undefined) throw new UsageError(`option ${typed} given twice${before === typed ? '' : ` (also as ${before})`}; give it once`);
    seen.set(key, typed);
  };
  /** `name` takes a value: `inline` if the word had one, else the next word. */
  const takeValue = (name: string, inline: string | undefined, i: number, typed: string): number => {
    count(name, typed);
    if (inline !== undefined) {
      out.push(`${dash(name)}=${inline}`);
      return i;
    }
    if (i + 1 >= words.length) throw new UsageError(`option ${typed} needs a value`);
    out.push(`${dash(name)}=${words[i + 1]}`);
    return i + 1;
  };
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word === '--') {
      out.push(...words.slice(i));
      break;
    }
    if (!word.startsWith('-') || word === '-') {
      out.push(word);
      continue;
    }
    if (word.startsWith('--') || (style === 'words' && word.length > 2)) {
      const body = word.slice(word.startsWith('--') ? 2 : 1);
      const eq = body.indexOf('=');
      const name = eq < 0 ? body : body.slice(0, eq);
      const inline = eq < 0 ? undefined : body.slice(eq + 1);
      if (table.flags.has(name)) {
        if (inline !== undefined) throw new UsageError(`option ${dash(name)} takes no value (in '${word}')`);
        out.push(dash(name));
      } else if (table.values.has(name)) {
        i = takeValue(name, inline, i, dash(name));
      } else if (word.startsWith('--')) {
        out.push(word); // yargs' strict mode names it
      } else {
        throw new UsageError(`unknown option '${word}' (options are whole words here, as ip reads them: -s -s, not -ss)`);
      }
      continue;
    }
    // A short-option cluster.
    for (let j = 1; j < word.length; j++) {
      const letter = word[j];
      if (table.flags.has(letter)) {
        out.push(`-${letter}`);
      } else if (table.values.has(letter)) {
        const rest = word.slice(j + 1);
        i = takeValue(letter, rest === '' ? undefined : rest, i, `-${letter}`);
        break;
      } else {
        throw unknownLetter(style, letter, word);
      }
    }
  }
  return out;
}
