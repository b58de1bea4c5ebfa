// rpm's version comparison (lib/rpmvercmp.c in rpm 4.x), as a pure function. Kernel releases
// compare segment by segment: digit runs numerically (leading zeros ignored), letter runs
// lexically, `~` sorts before everything (pre-releases), `^` after the base (snapshots). The
// tests check every vector against the installed `rpm` (rpm.vercmp in its Lua interpreter).

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isAlpha = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isAlnum = (c: string): boolean => isDigit(c) || isAlpha(c);

/** -1 when a < b, 0 when equal, 1 when a > b, exactly as rpmvercmp(3). */
export function rpmvercmp(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  // `?? ''` gives C's NUL terminator semantics at the end of either string.
  const at = (s: string, k: number): string => s[k] ?? '';
  while (i < a.length || j < b.length) {
    while (i < a.length && !isAlnum(at(a, i)) && at(a, i) !== '~' && at(a, i) !== '^') i++;
    while (j < b.length && !isAlnum(at(b, j)) && at(b, j) !== '~' && at(b, j) !== '^') j++;

    if (at(a, i) === '~' || at(b, j) === '~') {
      if (at(a, i) !== '~') return 1;
      if (at(b, j) !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (at(a, i) === '^' || at(b, j) === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (at(a, i) !== '^') return 1;
      if (at(b, j) !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (!(i < a.length && j < b.length)) break;

    let ei = i;
    let ej = j;
    const isNum = isDigit(at(a, i));
    const inSeg = isNum ? isDigit : isAlpha;
    while (ei < a.length && inSeg(at(a, ei))) ei++;
    while (ej < b.length && inSeg(at(b, ej))) ej++;

    if (ei === i) return -1; // cannot happen (a[i] is alnum), kept for parity with rpm
    if (ej === j) return isNum ? 1 : -1;

    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (isNum) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

/** Compare `[epoch:]version-release` strings the way rpm orders packages. */
export function compareEvr(a: string, b: string): -1 | 0 | 1 {
  const split = (s: string): [string, string, string] => {
    const colon = s.indexOf(':');
    const epoch = colon > 0 && /^\d+$/.test(s.slice(0, colon)) ? s.slice(0, colon) : '0';
    const rest = colon > 0 ? s.slice(colon + 1) : s;
    const dash = rest.lastIndexOf('-');
    return dash < 0 ? [epoch, rest, ''] : [epoch, rest.slice(0, dash), rest.slice(dash + 1)];
  };
  const [ea, va, ra] = split(a);
  const [eb, vb, rb] = split(b);
  return rpmvercmp(ea, eb) || rpmvercmp(va, vb) || rpmvercmp(ra, rb);
}
