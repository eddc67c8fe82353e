/**
 * A connection URL as typed, split into the URL dts may write and the password it must not. The rest of
 * the text is kept exactly as the user wrote it (query parameters, encoding), only the password goes.
 */
export interface SplitUrl {
  readonly url: string;
  /** The password from `user:password@` or `?password=`, decoded; undefined when the URL has none. */
  readonly password: string | undefined;
}

/**
 * Why a URL cannot be used, or undefined when it can. Never quotes the URL: it may hold a password.
 * Mirrors what the task parser accepts, so a URL that passes here loads later.
 */
export function urlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a valid URL (expected postgresql://user@host:port/database)';
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') return 'expected a postgresql:// URL';
  if (!u.hostname) return 'the URL names no host';
  return undefined;
}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray % is part of the password, not an escape
  }
};

/** Remove the password from a URL (call urlProblem first). */
export function splitUrlPassword(url: string): SplitUrl {
  // The authority ends at the first / ? or #; the user info ends at its last @ (WHATWG URL rules).
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (!m) return { url, password: undefined };
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  let password: string | undefined;
  let kept = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    if (colon >= 0) {
      password = decode(userInfo.slice(colon + 1));
      kept = userInfo.slice(0, colon) + authority.slice(at);
    }
  }
  // libpq also takes ?password=...; it must not reach the file either.
  let tail = rest;
  const q = /([?&])password=([^&#]*)(&?)/.exec(rest);
  if (q) {
    password ??= decode(q[2]!.replaceAll('+', ' '));
    tail = rest.slice(0, q.index) + (q[3] ? q[1] : '') + rest.slice(q.index + q[0].length);
    tail = tail.replace(/\?(#|$)/, '$1');
  }
  return { url: scheme + kept + tail, password };
}
