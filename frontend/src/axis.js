// axis.js: the x axis of charts: calendar days as the Unix seconds uPlot's time scales take, and the x range.

const DAY_S = 86400;

/**
 * daySeconds(day): "YYYY-MM-DD" as Unix seconds (not milliseconds: uPlot's time scales count seconds) of noon
 * that day in the browser's zone, so a day's bar sits on its own date whatever the zone; null when day is not a
 * real calendar date.
 */
export function daySeconds(day) {
	const m = typeof day === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(day) : null;
	if (!m)
		return null;
	const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12);
	if (d.getFullYear() !== Number(m[1]) || d.getMonth() !== Number(m[2]) - 1 || d.getDate() !== Number(m[3]))
		return null;
	return Math.round(d.getTime() / 1000);
}

/**
 * xRange(x, opts): [min, max] of the x scale, from the data alone (never from uPlot's own guess, which for a
 * single time point spans 1000 days).  opts.domain: [from, to] the range to show at least (e.g. the days asked
 * for); opts.bars: half a step of room on each side so the end bars are drawn whole; opts.time: a lone point's
 * step is a day.  null when there is nothing to show.
 */
export function xRange(x, opts = {}) {
	const vals = x.filter((v) => typeof v === 'number' && Number.isFinite(v));
	const dom = (opts.domain || []).filter((v) => typeof v === 'number' && Number.isFinite(v));
	const all = vals.concat(dom);
	if (!all.length)
		return null;
	let lo = Math.min(...all), hi = Math.max(...all);
	const sorted = vals.slice().sort((a, b) => a - b);
	let step = Infinity;
	for (let i = 1; i < sorted.length; i++)
		if (sorted[i] > sorted[i - 1])
			step = Math.min(step, sorted[i] - sorted[i - 1]);
	if (!Number.isFinite(step))
		step = opts.time ? DAY_S : 1;
	if (opts.bars || lo === hi) {
		lo -= step / 2;
		hi += step / 2;
	}
	return [lo, hi];
}
