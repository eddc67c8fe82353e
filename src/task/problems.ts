import { distance } from 'fastest-levenshtein';
import { isMap, isScalar, LineCounter, type Document, type Node } from 'yaml';

/** One thing wrong with a task file, located for the person who wrote it. */
export interface Problem {
  readonly path: readonly (string | number)[];
  /** 1-based line in the file, when it can be found. */
  readonly line: number | undefined;
  readonly message: string;
}

export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p),
    '',
  );
}

/** `source.port (line 7): expected a number` */
export function formatProblem(p: Problem): string {
  const where = formatPath(p.path) || '(file)';
  return p.line === undefined ? `${where}: ${p.message}` : `${where} (line ${p.line}): ${p.message}`;
}

/** The known key closest to an unknown one, when it is a plausible typo. */
export function didYouMean(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(unknown.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Finds lines of paths in a parsed YAML document. */
export class Locator {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  private lineOf(node: Node | null | undefined): number | undefined {
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : this.lines.linePos(offset).line;
  }

  /** The line of the value at `path`, or of the nearest ancestor that exists. */
  line(path: readonly (string | number)[]): number | undefined {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : (this.doc.getIn(path.slice(0, n), true) as Node | undefined);
      const line = this.lineOf(node);
      if (line !== undefined) return line;
    }
    return undefined;
  }

  /** The line of key `key` inside the map at `path`. */
  keyLine(path: readonly (string | number)[], key: string): number | undefined {
    const map = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    if (isMap(map)) {
      for (const pair of map.items) {
        if (isScalar(pair.key) && String(pair.key.value) === key) return this.lineOf(pair.key);
      }
    }
    return this.line(path);
  }
}
