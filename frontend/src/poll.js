// poll.js: usePoll, a value fetched again every few seconds while the tab is visible.
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * usePoll(fn, ms): calls fn(signal) now and then ms after each answer, never two at once; stops while the tab is
 * hidden and fetches at once when it is shown again.  Returns {data, error, at, refresh}: the last good answer
 * (kept when a later call fails), the last error (null after a success), when data came.
 */
export function usePoll(fn, ms) {
	const [state, setState] = useState({ data: null, error: null, at: null });
	const fnRef = useRef(fn);
	fnRef.current = fn;
	const ctl = useRef(null);
	useEffect(() => {
		let timer = null, ac = null, stopped = false;
		const run = async () => {
			clearTimeout(timer);
			timer = null;
			if (ac)
				ac.abort();
			if (document.hidden || stopped)
				return;
			ac = new AbortController();
			const mine = ac;
			try {
				const data = await fnRef.current(mine.signal);
				if (!mine.signal.aborted)
					setState({ data, error: null, at: new Date() });
			} catch (error) {
				if (!mine.signal.aborted)
					setState((s) => ({ ...s, error }));
			}
			if (!mine.signal.aborted && !stopped && !document.hidden)
				timer = setTimeout(run, ms);
		};
		const onVisible = () => {
			if (!document.hidden)
				run();
			else {
				clearTimeout(timer);
				if (ac)
					ac.abort();
			}
		};
		ctl.current = run;
		document.addEventListener('visibilitychange', onVisible);
		run();
		return () => {
			stopped = true;
			clearTimeout(timer);
			if (ac)
				ac.abort();
			document.removeEventListener('visibilitychange', onVisible);
		};
	}, [ms]);
	return { ...state, refresh: () => ctl.current && ctl.current() };
}
