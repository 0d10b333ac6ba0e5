/**
 * How the dashboard talks to the operator API: the same origin, with the auth token taken from
 * the page's `?token=` (sent as a Bearer header to HTTP routes and as `?token=` to /v3/ws,
 * since browsers cannot set headers on WebSockets).
 */

const token = new URLSearchParams(location.search).get('token');

export async function fetchJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** POSTs a JSON body (the control routes take nothing else); answers the status and the parsed JSON. */
export async function postJson<T>(path: string, body: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  let parsed: unknown = {};
  try {
    parsed = await res.json();
  } catch {
    parsed = { error: `HTTP ${res.status}` };
  }
  return { status: res.status, body: parsed as T };
}

export async function fetchText(path: string): Promise<string> {
  const res = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {}, cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.text();
}

export function feedUrl(): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/v3/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

/** Writes to the clipboard, falling back to a hidden textarea where the API is unavailable. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('the browser refused to copy');
  }
}
