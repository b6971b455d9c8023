/**
 * The console's HTTP helpers. The session cookie is set the same way whichever sign-in opened the session (a
 * token, or OpenID Connect): HttpOnly, SameSite=Strict, Secure behind https, for the session's life.
 */
import type { Context } from 'hono';
import { setCookie } from 'hono/cookie';
import { SESSION_MS, type Session } from './sessions.js';

export const SESSION_COOKIE = 'rsync_session';

export function isHttps(c: Context): boolean {
  return (
    new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0].trim() === 'https'
  );
}

export function setSessionCookie(c: Context, s: Pick<Session, 'token' | 'expiresAt'>): void {
  setCookie(c, SESSION_COOKIE, s.token, {
    httpOnly: true,
    sameSite: 'Strict',
    secure: isHttps(c),
    path: '/',
    maxAge: Math.floor(Math.min(SESSION_MS, Date.parse(s.expiresAt) - Date.now()) / 1000),
  });
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
