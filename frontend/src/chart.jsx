// chart.jsx: uPlot charts in a <figure> with a caption, plus the same numbers as a table for screen readers.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { xRange } from './axis.js';

const PALETTE = ['#e26e1c', '#1f77b4', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf',
	'#bcbd22', '#7f7f7f'];

function round(v) {
	return v === null || v === undefined ? '–' : String(Math.round(v * 1000) / 1000);
}

/** color(i): the i-th series colour. */
export function color(i) {
	return PALETTE[i % PALETTE.length];
}

function axisColor() {
	return getComputedStyle(document.documentElement).getPropertyValue('--fg-muted').trim() || '#666';
}

/**
 * Chart: a uPlot chart.  x: numbers (or unix seconds when time), series: [{label, values, color?}], bars: draw
 * bars; categories: labels for x = 0..n-1 (a bar chart of categories); yLabel: the unit; xDomain: [from, to] the
 * x range to show at least (the days asked for).
 */
export function Chart({ x, series, bars, categories, time, yLabel, height = 240, stacked, xDomain }) {
	const box = useRef(null);
	useEffect(() => {
		const el = box.current;
		if (!el || !x.length)
			return undefined;
		const fg = axisColor();
		// Bars at the ends of the x range are drawn whole: half a step of room on each side (axis.js).
		const xr = categories ? [-0.6, x.length - 0.4] :
			bars || time || xDomain ? xRange(x, { bars, time, domain: xDomain }) : null;
		// Category names (at most 14 characters shown) are tilted when they would not fit side by side at
		// about 7.5 px a character in the plot's width (the box less the y axis and the padding).
		const longest = categories ? Math.max(...categories.map((l) => Math.min(14, l.length))) : 0;
		const tilt = !!categories && (el.clientWidth - 110) / Math.max(1, x.length) < longest * 7.5 + 12;
		const grid = { stroke: 'rgba(128,128,128,0.2)', width: 1 };
		let data = [x, ...series.map((s) => s.values)];
		if (stacked) {
			// Stack: each series drawn as the sum of itself and those before it.
			const acc = x.map(() => 0);
			data = [x, ...series.map((s) => s.values.map((v, i) => (acc[i] += v || 0)))];
		}
		const opts = {
			width: Math.max(200, el.clientWidth),
			height,
			// Room on the right for the last tilted name.
			padding: [12, tilt ? 60 : 12, 0, 0],
			scales: { x: { time: !!time, range: xr ? () => xr : undefined },
			// Amounts start at 0.
			y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] } },
			legend: { show: series.length > 1 || !categories },
			cursor: { points: { show: !bars } },
			axes: [
				{ stroke: fg, grid, ...(categories ? {
					splits: () => x,
					values: (u, splits) => splits.map((i) => {
						const l = categories[i];
						return l === undefined ? '' : l.length > 14 ? l.slice(0, 13) + '…' : l;
					}),
					rotate: tilt ? -30 : 0, size: tilt ? 70 : 40,
				} : {}) },
				{ stroke: fg, grid, label: yLabel, size: 60 },
			],
			series: [{ label: categories ? 'item' : time ? 'day' : 'layer',
				value: categories ? (u, v) => (v === null || categories[v] === undefined ? '–' : categories[v]) :
					time ? '{YYYY}-{MM}-{DD}' : undefined }],
		};
		const lines = series.map((s, i) => ({
			label: s.label,
			// Bars get a thin outline in the text colour: a black filament stays visible on a dark page.
			stroke: bars ? fg : s.color || color(i),
			fill: bars || stacked ? (s.color || color(i)) + (stacked ? '' : 'cc') : undefined,
			width: bars ? 0.5 : 1.5,
			paths: bars ? uPlot.paths.bars({ size: [0.7, 60], align: 0 }) : undefined,
			points: { show: false },
			// The legend shows each series' own value, not the stacked sum drawn.
			value: (u, v, si, idx) => (idx === null || idx === undefined ? '–' : round(s.values[idx])),
		}));
		// Stacked series are drawn largest sum first, so the smaller sums paint over them.
		if (stacked) {
			lines.reverse();
			data = [data[0], ...data.slice(1).reverse()];
		}
		opts.series.push(...lines);
		const u = new uPlot(opts, data, el);
		const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
		ro.observe(el);
		return () => {
			ro.disconnect();
			u.destroy();
		};
	}, [x, series, bars, categories, time, height, stacked, xDomain && xDomain[0], xDomain && xDomain[1]]);
	return <div class="chart" ref={box} aria-hidden="true" />;
}

/** ChartFigure: <figure> with the chart, a caption, and the numbers as a table (in a <details>). */
export function ChartFigure({ caption, rows, columns, children, empty }) {
	return (
		<figure class="card figure">
			<figcaption>{caption}</figcaption>
			{rows && rows.length ? children : <p class="muted">{empty || 'Nothing in this range.'}</p>}
			{rows && rows.length ? (
				<details>
					<summary>Show as a table</summary>
					<div class="table-wrap">
						<table>
							<thead><tr>{columns.map((c) => <th scope="col" key={c[0]}>{c[0]}</th>)}</tr></thead>
							<tbody>{rows.map((r, i) => (
								<tr key={i}>{columns.map((c, j) => <td key={c[0]} class={j ? undefined : 'text'}>{c[1](r)}</td>)}</tr>
							))}</tbody>
						</table>
					</div>
				</details>
			) : null}
		</figure>
	);
}
