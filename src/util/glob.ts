// File globs for command-line inputs, for shells that do not expand them (Windows) and for quoted
// patterns. Node 20 has no fs.glob. Supported: `*` and `?` within a path segment, `[abc]` /
// `[a-z]` classes, and `**` for any number of folders. Dot files match only a pattern that names
// the dot.
import { readdir } from 'node:fs/promises';
import { join, sep, isAbsolute } from 'node:path';

export function hasGlobChars(s: string): boolean {
  return /[*?[]/.test(s);
}

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files matching `pattern`, sorted. Folders that cannot be read are skipped. */
export async function expandGlob(pattern: string): Promise<string[]> {
  const norm = pattern.replace(/\\/g, '/');
  const parts = norm.split('/');
  let base = isAbsolute(pattern) ? '/' : '.';
  let i = 0;
  if (isAbsolute(pattern)) i = 1;
  const fixed: string[] = [];
  while (i < parts.length - 1 && !hasGlobChars(parts[i]!)) fixed.push(parts[i++]!);
  if (fixed.length) base = isAbsolute(pattern) ? '/' + fixed.join('/') : fixed.join('/');
  const rest = parts.slice(i);
  const out: string[] = [];
  await walk(base, rest, fixed.length > 0 || isAbsolute(pattern) ? base : '', out);
  return [...new Set(out)].sort();
}

async function walk(dir: string, rest: string[], shown: string, out: string[]): Promise<void> {
  if (rest.length === 0) return;
  const [seg, ...tail] = rest as [string, ...string[]];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const pathOf = (name: string) => (shown ? (shown.endsWith('/') ? shown + name : `${shown}${sep}${name}`) : name);
  if (seg === '**') {
    await walk(dir, tail, shown, out); // zero folders
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) await walk(join(dir, e.name), rest, pathOf(e.name), out);
    return;
  }
  const re = segmentRegex(seg);
  for (const e of entries) {
    if (e.name.startsWith('.') && !seg.startsWith('.')) continue;
    if (!re.test(e.name)) continue;
    if (tail.length === 0) {
      if (e.isFile() || e.isSymbolicLink()) out.push(pathOf(e.name));
    } else if (e.isDirectory()) await walk(join(dir, e.name), tail, pathOf(e.name), out);
  }
}
