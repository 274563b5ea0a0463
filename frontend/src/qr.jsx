// qr.jsx: reads a QR code with the camera: BarcodeDetector where the browser has it, else jsQR (loaded on demand).
import { useEffect, useRef, useState } from 'preact/hooks';

const SCAN_MS = 150;

async function nativeDetector() {
	if (!('BarcodeDetector' in window))
		return null;
	try {
		const formats = await window.BarcodeDetector.getSupportedFormats();
		if (!formats.includes('qr_code'))
			return null;
		const d = new window.BarcodeDetector({ formats: ['qr_code'] });
		return async (video) => {
			const codes = await d.detect(video);
			return codes.length ? codes[0].rawValue : null;
		};
	} catch (e) {
		return null;
	}
}

async function jsqrDetector() {
	const mod = await import('jsqr');
	const jsQR = mod.default || mod;
	const canvas = document.createElement('canvas');
	const ctx = canvas.getContext('2d', { willReadFrequently: true });
	return async (video) => {
		const w = video.videoWidth, h = video.videoHeight;
		if (!w || !h)
			return null;
		const scale = Math.min(1, 800 / Math.max(w, h));
		canvas.width = Math.round(w * scale);
		canvas.height = Math.round(h * scale);
		ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
		const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
		const code = jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
		return code ? code.data : null;
	};
}

function cameraError(e) {
	if (!window.isSecureContext)
		return 'The camera works only over HTTPS (or on localhost). Type the code below instead.';
	if (e && e.name === 'NotAllowedError')
		return 'Camera access was refused. Allow the camera for this site, or type the code below.';
	if (e && (e.name === 'NotFoundError' || e.name === 'OverconstrainedError'))
		return 'No camera was found. Type the code below instead.';
	return 'The camera could not be started' + (e && e.message ? `: ${e.message}` : '') + '.';
}

/**
 * Scanner: the camera's picture and a scan loop; onCode(text) once with the first code read (the camera then
 * stops).  Also a text field for a code typed by hand.  The camera stops when the component goes away.
 */
export function Scanner({ onCode }) {
	const video = useRef(null);
	const [status, setStatus] = useState('Starting the camera…');
	const [error, setError] = useState(null);
	const [typed, setTyped] = useState('');
	useEffect(() => {
		let stream = null, timer = null, done = false;
		const stop = () => {
			done = true;
			clearTimeout(timer);
			if (stream)
				for (const t of stream.getTracks())
					t.stop();
		};
		(async () => {
			if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
				setError(cameraError(null));
				setStatus('');
				return;
			}
			try {
				stream = await navigator.mediaDevices.getUserMedia({
					video: { facingMode: { ideal: 'environment' } }, audio: false,
				});
			} catch (e) {
				setError(cameraError(e));
				setStatus('');
				return;
			}
			if (done) {
				stop();
				return;
			}
			const v = video.current;
			v.srcObject = stream;
			try {
				await v.play();
			} catch (e) { /* autoplay of a muted inline video is allowed; a refusal shows as no frames */ }
			const detect = (await nativeDetector()) || (await jsqrDetector());
			setStatus('Point the camera at the spool\'s QR code.');
			const tick = async () => {
				if (done)
					return;
				let text = null;
				try {
					text = await detect(v);
				} catch (e) { /* a frame that cannot be read: try the next */ }
				if (done)
					return;
				if (text) {
					stop();
					setStatus('Code read.');
					onCode(text);
					return;
				}
				timer = setTimeout(tick, SCAN_MS);
			};
			tick();
		})();
		return stop;
	}, []);
	return (
		<div class="scanner">
			{!error ? <video ref={video} class="scanner-video" muted playsInline autoplay
				aria-label="Camera picture for reading the QR code" /> : null}
			<p role="status" class="muted">{status}</p>
			{error ? <p class="error" role="alert">{error}</p> : null}
			<form class="row" onSubmit={(e) => { e.preventDefault(); if (typed.trim()) onCode(typed.trim()); }}>
				<div class="field grow">
					<label for="qr-typed">Code or spool id</label>
					<input id="qr-typed" value={typed} onInput={(e) => setTyped(e.currentTarget.value)}
						placeholder="web+spoolman:s-3" autocapitalize="none" spellcheck={false} />
				</div>
				<button type="submit">Look up</button>
			</form>
		</div>
	);
}
