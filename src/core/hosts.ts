/**
 * Which host names and addresses are this machine's loopback — the one rule shared by the venue
 * guard (where orders may go), the operator API's Host allow-list and bind checks, and the
 * simulator's control API. Pure: names are compared as given, nothing is resolved.
 */

/**
 * True for `localhost` and every `*.localhost` name (RFC 6761: loopback by definition), any
 * 127.0.0.0/8 address, `::1`, and IPv4-mapped loopback (`::ffff:127.0.0.1`, or `::ffff:7f00:1`
 * as WHATWG URL prints it). Brackets, case and a trailing dot are ignored.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isLoopbackV4(h)) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) {
    const mapped = h.slice(7);
    if (isLoopbackV4(mapped)) return true;
    const hex = /^([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(mapped);
    return hex !== null && parseInt(hex[1], 16) >> 8 === 127;
  }
  return false;
}

function isLoopbackV4(h: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return v4 !== null && Number(v4[1]) === 127 && v4.slice(1).every((octet) => Number(octet) <= 255);
}
