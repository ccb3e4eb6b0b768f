import type { Document, Node } from 'yaml';
import { isAlias, isCollection, isMap, isPair, isScalar, Lexer, visit } from 'yaml';

/**
 * Bounds on structured input a tenant sends (JSON bodies, YAML documents), checked before the parser
 * that would pay for them: `yaml` and V8's JSON.parse take seconds (or exhaust memory) on a deeply
 * nested document of a few kilobytes, and a YAML alias tree ("billion laughs") expands exponentially
 * in whatever walks it. Shared by the HTTP body parser, the workflow loader, sandbox profiles, policy
 * files and the workflow expression functions (issue 19).
 */
export const INPUT_LIMITS = {
  /** Nesting of arrays/objects in a JSON body or a YAML document (hardening.md §7.2: 32). */
  maxDepth: 32,
  /** Alias references (`*name`) in one YAML document. */
  maxYamlAliases: 100,
  /** Nodes of a YAML document once every alias is expanded. */
  maxYamlExpandedNodes: 100_000,
  /**
   * Characters of a workflow file. The yaml parser costs a few microseconds per byte (seconds for a
   * megabyte under load); the largest real workflow in the corpus is 18 KB.
   */
  maxWorkflowYamlChars: 128 * 1024,
} as const;

/** The greatest nesting of `[`/`{` in JSON text (outside strings), scanning only until `limit` is passed. */
export function jsonTextDepth(text: string, limit: number = INPUT_LIMITS.maxDepth): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (code === 0x5d || code === 0x7d) depth--;
  }
  return max;
}

/** The greatest nesting of a parsed JSON value, walking only until `limit` is passed (no recursion). */
export function jsonValueDepth(value: unknown, limit: number = INPUT_LIMITS.maxDepth): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (item === null || typeof item !== 'object') continue;
    if (depth > max && (max = depth) > limit) return max;
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * Why YAML text must not be parsed, or undefined: flow collections (`[[[[…`) nested deeper than the
 * limit. The lexer is linear and stops at the limit; the parser itself is superlinear on such input.
 */
export function yamlTextProblem(text: string, maxDepth: number = INPUT_LIMITS.maxDepth): string | undefined {
  let depth = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      if (++depth > maxDepth) return `the YAML nests collections deeper than ${maxDepth} levels (the limit)`;
    } else if (token === ']' || token === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/**
 * Why a parsed YAML document is refused, or undefined: more aliases than the limit, too many nodes once
 * aliases are expanded (billion laughs), or nesting deeper than the limit. Each anchored node is sized
 * once, so this is linear in the document whatever the aliases would expand to.
 */
export function yamlDocumentProblem(doc: Document, limits = INPUT_LIMITS): string | undefined {
  let aliases = 0;
  const sized = new Map<Node, { nodes: number; depth: number }>();
  const measure = (node: unknown, level: number): { nodes: number; depth: number } => {
    if (level > limits.maxDepth) throw new LimitExceeded(`the YAML nests collections deeper than ${limits.maxDepth} levels (the limit)`);
    if (isAlias(node)) {
      if (++aliases > limits.maxYamlAliases) throw new LimitExceeded(`the YAML has more than ${limits.maxYamlAliases} aliases (the limit)`);
      const target = node.resolve(doc) as Node | undefined;
      if (!target) return { nodes: 1, depth: 0 };
      let size = sized.get(target);
      if (!size) {
        // Placeholder while measuring: an alias inside its own anchor (a cycle) counts as one node.
        sized.set(target, { nodes: 1, depth: 0 });
        size = measure(target, level);
      }
      if (level + size.depth > limits.maxDepth) throw new LimitExceeded(`the YAML nests collections deeper than ${limits.maxDepth} levels (the limit)`);
      return size;
    }
    if (isPair(node)) {
      const [k, v] = [measure(node.key, level), measure(node.value, level)];
      return { nodes: k.nodes + v.nodes, depth: Math.max(k.depth, v.depth) };
    }
    if (!isCollection(node)) return { nodes: 1, depth: 0 };
    let nodes = 1;
    let depth = 0;
    for (const item of node.items) {
      const size = measure(item, level + 1);
      nodes += size.nodes;
      depth = Math.max(depth, size.depth + 1);
      if (nodes > limits.maxYamlExpandedNodes) throw new LimitExceeded(`the YAML expands to more than ${limits.maxYamlExpandedNodes} nodes once aliases are resolved (the limit)`);
    }
    const size = { nodes, depth };
    if (node.anchor) sized.set(node, size);
    return size;
  };
  try {
    measure(doc.contents, 0);
    return undefined;
  } catch (error) {
    if (error instanceof LimitExceeded) return error.message;
    throw error;
  }
}

class LimitExceeded extends Error {}

/**
 * Keys that repeat within one mapping, each with its node, found with one Set per mapping. The yaml
 * parser's own `uniqueKeys` check compares every key with every earlier one (quadratic: seconds for a
 * mapping of ten thousand keys), so documents are parsed without it and checked here.
 */
export function duplicateYamlKeys(doc: Document): Array<{ key: string; node: Node }> {
  const found: Array<{ key: string; node: Node }> = [];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return;
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key: unknown = isScalar(pair.key) ? pair.key.value : pair.key;
        // `<<` merge keys may repeat (each merges another mapping).
        if (seen.has(key) && isScalar(pair.key) && key !== '<<') found.push({ key: String(key), node: pair.key });
        seen.add(key);
      }
    },
  });
  return found;
}
