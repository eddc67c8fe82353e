/** A node to order: `rank` breaks ties (schemas before types before tables ...), then `name`. */
export interface GraphNode {
  readonly key: string;
  readonly rank: number;
  readonly name: string;
}

export interface Ordering {
  readonly order: readonly string[];
  /** Keys that were emitted while still waiting on a dependency (a cycle the catalogs allow). */
  readonly cycles: readonly string[];
}

const before = (a: GraphNode, b: GraphNode) =>
  a.rank !== b.rank ? a.rank < b.rank : a.name !== b.name ? a.name < b.name : a.key < b.key;

/**
 * Topological order of `nodes` under `edges` (`from` needs `to` first; edges naming unknown keys are
 * ignored). Among the nodes that are ready, the lowest rank goes first, so the output reads like pg_dump's
 * (schemas, types, functions, sequences, tables, views) wherever dependencies allow. A cycle does not
 * stop the sort: its lowest-ranked member is emitted early and reported.
 */
export function topologicalOrder(
  nodes: readonly GraphNode[],
  edges: readonly { readonly from: string; readonly to: string }[],
): Ordering {
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const waitingOn = new Map<string, Set<string>>(nodes.map((n) => [n.key, new Set()]));
  const dependents = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (from === to || !byKey.has(from) || !byKey.has(to)) continue;
    const set = waitingOn.get(from)!;
    if (set.has(to)) continue;
    set.add(to);
    dependents.set(to, [...(dependents.get(to) ?? []), from]);
  }
  const order: string[] = [];
  const cycles: string[] = [];
  const done = new Set<string>();
  let ready = nodes.filter((n) => waitingOn.get(n.key)!.size === 0);
  const remaining = new Set(nodes.map((n) => n.key));
  const emit = (n: GraphNode) => {
    order.push(n.key);
    done.add(n.key);
    remaining.delete(n.key);
    for (const d of dependents.get(n.key) ?? []) {
      const set = waitingOn.get(d)!;
      set.delete(n.key);
      if (set.size === 0 && !done.has(d)) ready.push(byKey.get(d)!);
    }
  };
  while (remaining.size > 0) {
    if (ready.length === 0) {
      let pick: GraphNode | undefined;
      for (const k of remaining) {
        const n = byKey.get(k)!;
        if (!pick || before(n, pick)) pick = n;
      }
      cycles.push(pick!.key);
      waitingOn.get(pick!.key)!.clear();
      ready.push(pick!);
    }
    let best = 0;
    for (let i = 1; i < ready.length; i++) if (before(ready[i]!, ready[best]!)) best = i;
    const n = ready[best]!;
    ready = [...ready.slice(0, best), ...ready.slice(best + 1)];
    if (done.has(n.key)) continue;
    emit(n);
  }
  return { order, cycles };
}
