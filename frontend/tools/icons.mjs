// tools/icons.mjs: draws the app icon (a filament spool) as PNG in any size, with no image library.
import { deflateSync } from 'node:zlib';

const CRC = new Uint32Array(256).map((_, n) => {
	let c = n;
	for (let k = 0; k < 8; k++)
		c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
	return c >>> 0;
});

function crc32(buf)
{
	let c = 0xffffffff;
	for (const b of buf)
		c = CRC[(c ^ b) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data)
{
	const len = Buffer.alloc(4);
	len.writeUInt32BE(data.length);
	const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(td));
	return Buffer.concat([len, td, crc]);
}

// The colour of point (x, y) in a 1x1 square, or null for transparent.  maskable: full-bleed background and the
// drawing inside the 80 % safe zone.
function paint(x, y, maskable)
{
	const dx = x - 0.5, dy = y - 0.5;
	const r = Math.hypot(dx, dy);
	const s = maskable ? 0.8 : 1;
	if (!maskable) {
		// Rounded square, corner radius 0.18.
		const qx = Math.max(Math.abs(dx) - 0.32, 0), qy = Math.max(Math.abs(dy) - 0.32, 0);
		if (Math.hypot(qx, qy) > 0.18)
			return null;
	}
	if (r < 0.07 * s)
		return [20, 32, 44];		// hub hole
	if (r < 0.13 * s)
		return [236, 240, 243];		// hub
	if (r < 0.31 * s) {
		// Filament windings: orange with thin darker lines.
		const band = Math.floor((r / s - 0.13) / 0.03);
		return band % 2 ? [240, 128, 40] : [226, 110, 28];
	}
	if (r < 0.36 * s)
		return [236, 240, 243];		// flange
	return [17, 94, 89];			// background (teal)
}

// drawIcon(size, maskable): a PNG (Buffer) of size x size pixels, 4x4 supersampled.
export function drawIcon(size, maskable)
{
	const row = size * 4 + 1;
	const raw = Buffer.alloc(row * size);
	const n = 4;
	for (let py = 0; py < size; py++) {
		raw[py * row] = 0;
		for (let px = 0; px < size; px++) {
			let r = 0, g = 0, b = 0, a = 0;
			for (let sy = 0; sy < n; sy++)
				for (let sx = 0; sx < n; sx++) {
					const c = paint((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size, maskable);
					if (!c)
						continue;
					r += c[0]; g += c[1]; b += c[2]; a++;
				}
			const o = py * row + 1 + px * 4;
			if (a) {
				raw[o] = Math.round(r / a);
				raw[o + 1] = Math.round(g / a);
				raw[o + 2] = Math.round(b / a);
			}
			raw[o + 3] = Math.round((a * 255) / (n * n));
		}
	}
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(size, 0);
	ihdr.writeUInt32BE(size, 4);
	ihdr[8] = 8;	// bit depth
	ihdr[9] = 6;	// RGBA
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk('IHDR', ihdr),
		chunk('IDAT', deflateSync(raw, { level: 9 })),
		chunk('IEND', Buffer.alloc(0)),
	]);
}
