// lib/camera.mjs: a fake camera for Chromium: a QR code of some text drawn into a Y4M (YUV 4:2:0) video file.
import { writeFileSync } from 'node:fs';
import QRCode from 'qrcode';

/*
 * qrMatrix(text): the QR code of text (error correction M) as {size, dark(x, y)}: size modules a side,
 * dark(x, y) true for a dark module.  Throws when qrcode cannot encode the text.
 */
export function qrMatrix(text)
{
	const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
	const size = qr.modules.size;
	const data = qr.modules.data;
	return { size, dark: (x, y) => data[y * size + x] === 1 };
}

/*
 * qrFrame(text, width, height): one grey frame (Uint8Array of width*height luma bytes, 235 white, 16 black:
 * the video range) with the QR code of text in its middle, each module `scale` pixels, inside a white quiet
 * zone of at least 4 modules (the whole frame around it is white).  Throws when the code does not fit.
 */
export function qrFrame(text, width, height)
{
	const m = qrMatrix(text);
	const scale = Math.floor(Math.min(width, height) * 0.8 / (m.size + 8));
	if (scale < 3)
		throw new Error(`qrFrame: a ${m.size}-module code does not fit in ${width}x${height} at 3 px a module`);
	const side = m.size * scale;
	const x0 = Math.floor((width - side) / 2), y0 = Math.floor((height - side) / 2);
	const luma = new Uint8Array(width * height).fill(235);
	for (let y = 0; y < side; y++)
		for (let x = 0; x < side; x++)
			if (m.dark(Math.floor(x / scale), Math.floor(y / scale)))
				luma[(y0 + y) * width + x0 + x] = 16;
	return { luma, modules: m.size, scale };
}

/*
 * writeQrY4m(path, text, {width, height, frames, fps}): writes a Y4M video of `frames` identical frames (default
 * 10, 640x480 at 10 fps) showing the QR code of text, for --use-file-for-fake-video-capture (Chromium loops
 * it).  Planes per frame: Y (width*height), then U and V ((width/2)*(height/2), 128 = no colour).  Returns
 * {path, modules, scale}.  Width and height must be even.
 */
export function writeQrY4m(path, text, opts = {})
{
	const width = opts.width ?? 640, height = opts.height ?? 480;
	const frames = opts.frames ?? 10, fps = opts.fps ?? 10;
	if (width % 2 || height % 2)
		throw new Error(`writeQrY4m: ${width}x${height}: 4:2:0 needs an even width and height`);
	const { luma, modules, scale } = qrFrame(text, width, height);
	const chroma = Buffer.alloc((width / 2) * (height / 2), 128);
	const parts = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`, 'ascii')];
	for (let i = 0; i < frames; i++)
		parts.push(Buffer.from('FRAME\n', 'ascii'), Buffer.from(luma), chroma, chroma);
	writeFileSync(path, Buffer.concat(parts));
	return { path, modules, scale };
}
