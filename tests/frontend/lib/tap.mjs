// lib/tap.mjs: TAP-like output for the browser tests: "ok N - name" / "not ok N - name" with "#" diagnostics.

// TAP_FIRST and TAP_FAILED: the number of the first line and the failures so far, when another script printed
// lines before this one (the summary then counts them all).
let count = Math.max(Number(process.env.TAP_FIRST || 1), 1) - 1;
const failedBefore = Math.min(Math.max(Number(process.env.TAP_FAILED || 0), 0), count);
let failed = 0;

/* diag(text): prints text as "#   " lines (at most 30), for the reader of a failure. */
export function diag(text)
{
	// eslint-disable-next-line no-control-regex
	for (const line of String(text).replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(0, 30))
		console.log(`#   ${line}`);
}

/* check(cond, name, detail): one result line; detail (string or function giving one) is shown on failure.
 * Returns cond. */
export function check(cond, name, detail)
{
	count++;
	if (cond) {
		console.log(`ok ${count} - ${name}`);
	} else {
		failed++;
		console.log(`not ok ${count} - ${name}`);
		if (detail !== undefined)
			diag(typeof detail === 'function' ? detail() : detail);
	}
	return !!cond;
}

/*
 * step(name, fn): runs the async fn; "ok" when it returns without throwing, else "not ok" with the error.
 * fn may call check() for finer results; step() then adds its own line only when fn throws.
 * Returns fn's value, or undefined after a failure (the caller decides whether to go on).
 */
export async function step(name, fn)
{
	const before = count;
	try {
		const v = await fn();
		if (count === before)
			check(true, name);
		return v;
	} catch (e) {
		// The message and where it was thrown (Playwright's call log is left out: the message says enough).
		const lines = (e && e.stack ? e.stack : String(e)).split('\n');
		const msg = lines.filter((l) => !/^\s+at /.test(l)).slice(0, 4);
		const at = lines.filter((l) => /^\s+at .*browser\.test\.mjs|^\s+at .*lib\//.test(l)).slice(0, 2);
		check(false, name, [...msg, ...at].join('\n'));
		return undefined;
	}
}

/* skip(name, why): a test that could not run because an earlier one failed: counted as a failure. */
export function skip(name, why)
{
	check(false, `${name} (not run: ${why})`);
}

/* summary(): prints "1..N" and the counts; returns the exit status (0 when nothing failed). */
export function summary()
{
	console.log(`1..${count}`);
	console.log(`# ${count - failed - failedBefore} passed, ${failed + failedBefore} failed`);
	return failed === 0 ? 0 : 1;
}
