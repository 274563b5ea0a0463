// lib/context.mjs: what the browser tests share: the stack's URL and admin, the sizes, the hostile names, and S (what the steps learn).

export const URL = process.env.BROWSER_URL;
export const USER = process.env.BROWSER_USER;
export const PASSWORD = process.env.BROWSER_PASSWORD;
/* The Spoolman stand-in's base URL (its /_control API injects faults), or undefined. */
export const SPOOLMAN_URL = process.env.BROWSER_SPOOLMAN_URL || undefined;
/* How long to wait for the demo print to run and charge filament (seconds). */
export const WAIT_S = Number(process.env.BROWSER_TIMEOUT_S || 240);
/* The two halves of the hostile name: printer names are limited to 64 characters, and the whole is 67. */
export const XSS = ['<script>window.__xss=1</script>', '<img src=x onerror="window.__xss=2">'];
export const DESKTOP = { viewport: { width: 1366, height: 900 }, deviceScaleFactor: 1 };
export const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
/* S: what the steps learn and share: api, printer, trays, spools, urls, browser, desktop, page, errors. */
export const S = {};
