// ui.jsx: small shared components: links, dialogs (focus trap, Esc), error notes, the loading state, colour chips.
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';
import { linkClick } from './router.js';
import { cssColor } from './format.js';

/** Link: an <a> that routes inside the app. */
export function Link(props) {
	return <a {...props} onClick={linkClick} />;
}

/** ErrorNote: an API error (or any Error) as an alert; nothing for null. */
export function ErrorNote({ error, children }) {
	if (!error && !children)
		return null;
	return (
		<p class="error" role="alert">
			{children}
			{error ? (error.detail || error.message || String(error)) : null}
		</p>
	);
}

/** Chip: a colour swatch (decorative: the colour is also said in words where it matters). */
export function Chip({ color, size }) {
	const c = cssColor(color);
	return <span class={'chip' + (c ? '' : ' chip-none') + (size ? ' chip-' + size : '')} aria-hidden="true"
		style={c ? { backgroundColor: c } : undefined} />;
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), ' +
	'textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

const RETRY_FOCUS_MS = [0, 50, 150, 400];

/** The element to give focus back to: the opener if it is still in the page, else the one returnTo selects. */
function opener(before, returnTo) {
	if (before && before.isConnected && before !== document.body)
		return before;
	return returnTo ? document.querySelector(returnTo) : null;
}

/**
 * Dialog: a modal <dialog> (the page behind is inert); Tab and Shift+Tab stay inside it, Esc and the Close
 * button call onClose, and focus goes back to what had it before.  returnTo: a CSS selector naming the opener by
 * a stable identity (e.g. '[data-tray="1:0"]'), used when a live page re-rendered the opener while the dialog
 * was open, so the element that had the focus is gone.
 */
export function Dialog({ title, onClose, children, wide, returnTo }) {
	const ref = useRef(null);
	const closeRef = useRef(onClose);
	closeRef.current = onClose;
	const [before] = useState(() => document.activeElement);	// the opener, before the dialog exists
	const returnRef = useRef(returnTo);
	returnRef.current = returnTo;
	useEffect(() => {
		const d = ref.current;
		if (d.showModal && !d.open)
			d.showModal();
		const first = d.querySelector('[autofocus]') || d.querySelector(FOCUSABLE);
		if (first)
			first.focus();
		return () => {
			if (d.open && d.close)
				d.close();
			const back = () => {
				const el = opener(before, returnRef.current);
				if (el && el.focus)
					el.focus();
			};
			back();
			// Closed by its owner (unmounted while open): the page may still be inert for a frame (see dismiss), or
			// the same update may put the opener back in after this cleanup: try again shortly while nothing has
			// the focus (never taking it from an element the user has moved to meanwhile).
			for (const ms of RETRY_FOCUS_MS)
				setTimeout(() => {
					const a = document.activeElement;
					if (!a || a === document.body)
						back();
				}, ms);
		};
	}, []);
	// Closing by the user: close the <dialog> while it is still in the page, then focus the opener, then let the
	// owner unmount it.  (Unmounting an open modal dialog removes it from the page first: Chromium then drops the
	// focus to <body> and keeps the page inert until its next frame, so a focus() in the same task is ignored.)
	const dismiss = () => {
		const d = ref.current;
		if (d && d.open && d.close)
			d.close();
		const el = opener(before, returnRef.current);
		if (el && el.focus)
			el.focus();
		closeRef.current();
	};
	const onKeyDown = (e) => {
		if (e.key === 'Escape') {
			e.preventDefault();
			e.stopPropagation();
			dismiss();
			return;
		}
		if (e.key !== 'Tab')
			return;
		const items = [...ref.current.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
		if (!items.length)
			return;
		const first = items[0], last = items[items.length - 1];
		if (e.shiftKey && (document.activeElement === first || !ref.current.contains(document.activeElement))) {
			e.preventDefault();
			last.focus();
		} else if (!e.shiftKey && (document.activeElement === last || !ref.current.contains(document.activeElement))) {
			e.preventDefault();
			first.focus();
		}
	};
	return (
		<dialog ref={ref} class={'dialog' + (wide ? ' dialog-wide' : '')} aria-labelledby="dialog-title"
			aria-modal="true" onKeyDown={onKeyDown}
			onCancel={(e) => { e.preventDefault(); dismiss(); }}>
			<div class="dialog-head">
				<h2 id="dialog-title">{title}</h2>
				<button type="button" class="ghost" onClick={dismiss}>Close</button>
			</div>
			{children}
		</dialog>
	);
}

/** useAsync(fn, deps): runs fn() when deps change; {data, error, loading, reload}.  fn gets an AbortSignal. */
export function useAsync(fn, deps) {
	const [state, setState] = useState({ data: null, error: null, loading: true });
	const [tick, setTick] = useState(0);
	useEffect(() => {
		const ac = new AbortController();
		setState((s) => ({ data: s.data, error: null, loading: true }));
		fn(ac.signal).then((data) => {
			if (!ac.signal.aborted)
				setState({ data, error: null, loading: false });
		}, (error) => {
			if (!ac.signal.aborted)
				setState((s) => ({ data: s.data, error, loading: false }));
		});
		return () => ac.abort();
	}, [...deps, tick]);
	const reload = useCallback(() => setTick((t) => t + 1), []);
	return { ...state, reload };
}

/**
 * useAction(): the busy flag, error and result of one action at a time (a form's save, a check). run(fn) clears
 * the last error and result, awaits fn(), and keeps what it returns as result, or what it throws as error.
 */
export function useAction() {
	const [state, setState] = useState({ busy: false, error: null, result: null });
	const run = useCallback(async (fn) => {
		setState({ busy: true, error: null, result: null });
		try {
			const result = await fn();
			setState({ busy: false, error: null, result });
		} catch (error) {
			setState({ busy: false, error, result: null });
		}
	}, []);
	return { ...state, run };
}

/**
 * formKey(...values): the key of a form fed by settings that several forms share: the form's own values, so that
 * it shows the server's values again when one of them changes, and not when another form saves (an unsaved edit
 * in this one survives that).
 */
export function formKey(...values) {
	return JSON.stringify(values);
}

/** Loading: a polite status line while something loads. */
export function Loading({ what }) {
	return <p class="muted" role="status">Loading {what || ''}…</p>;
}

/** useTitle(text): the document's title ("text · Spoolkeeper"). */
export function useTitle(text) {
	useEffect(() => {
		document.title = text ? `${text} · Spoolkeeper` : 'Spoolkeeper';
	}, [text]);
}
