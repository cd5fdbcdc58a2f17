// User and group names for ikc ps's USER/GROUP columns, read once from
// /etc/passwd and /etc/group (files only: no NSS, so LDAP users print as numbers).
import { readFileSync } from 'node:fs';

function readIds(path: string): Map<number, string> {
  const names = new Map<number, string>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return names;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (!name || name.startsWith('#') || id === undefined || !/^[0-9]+$/.test(id)) continue;
    const n = Number(id);
    if (!names.has(n)) names.set(n, name); // the first entry wins, as getpwuid
  }
  return names;
}

let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

/** The name of a uid, or undefined when /etc/passwd does not list it. */
export function userName(uid: number): string | undefined {
  users ??= readIds('/etc/passwd');
  return users.get(uid);
}

/** The name of a gid, or undefined when /etc/group does not list it. */
export function groupName(gid: number): string | undefined {
  groups ??= readIds('/etc/group');
  return groups.get(gid);
}

/** The uid of a user name (the first /etc/passwd entry), or undefined. */
export function userId(name: string): number | undefined {
  users ??= readIds('/etc/passwd');
  for (const [id, n] of users) if (n === name) return id;
  return undefined;
}

/** The gid of a group name (the first /etc/group entry), or undefined. */
export function groupId(name: string): number | undefined {
  groups ??= readIds('/etc/group');
  for (const [id, n] of groups) if (n === name) return id;
  return undefined;
}
