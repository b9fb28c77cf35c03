import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
	chooseCodec,
	compress,
	decompress,
	startCompression,
} from '../../../../core/sources/protheus-files/compression';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;
/** Tests that need the zstd command say so when it is missing (scripts/setup.sh installs it). */
const withZstd = (name: string, fn: () => Promise<void>) =>
	hasZstd ? it(name, fn) : it.skip(`skipped: zstd is not installed: ${name}`, fn);

describe('archive compression', () => {
	withZstd('keeps zstd output that is complete before anyone reads it (a tiny incremental)', async () => {
		const codec = await chooseCodec('zstd', null);
		expect(codec.method).toBe('zstd');
		const running = compress(codec, Readable.from([Buffer.from('tar bytes of a tiny incremental')]));
		await running.done; // zstd has exited; Node discards stdio nobody consumes unless we already do
		const compressed = await buffer(running.output);
		expect(compressed.length).toBeGreaterThanOrEqual(13);
		expect(running.producedBytes?.()).toBe(compressed.length);
		const back = await decompress('zstd', Readable.from([compressed]));
		expect((await buffer(back.output)).toString()).toBe('tar bytes of a tiny incremental');
		await back.done;
	});

	it.each(['zstd', 'gzip', 'none'] as const)(
		'compresses what is written to its input (%s), each write called back',
		async (method) => {
			if (method === 'zstd' && !hasZstd) return console.warn('skipped: zstd is not installed');
			const codec = await chooseCodec(method, null);
			const running = startCompression(codec);
			const compressed = buffer(running.output);
			const parts = [Buffer.alloc(3 << 20, 0x41), Buffer.from('fim do arquivo')];
			let calledBack = 0;
			for (const part of parts) running.input.write(part, (error) => !error && calledBack++);
			running.input.end();
			await running.done;
			const back = await decompress(method, Readable.from([await compressed]));
			expect((await buffer(back.output)).equals(Buffer.concat(parts))).toBe(true);
			await back.done;
			expect(calledBack).toBe(2);
			expect(running.releasesChunks).toBe(method !== 'none');
		},
	);

	it('falls back to gzip, saying why, when zstd is not installed', async () => {
		const codec = await chooseCodec('zstd', 19, '/nonexistent/zstd');
		expect(codec).toMatchObject({ method: 'gzip', level: null });
		expect(codec.description).toContain('zstd command not found');
	});

	it('refuses a level the method does not have', async () => {
		await expect(chooseCodec('gzip', 12)).rejects.toMatchObject({
			code: 'INVALID_INPUT',
			message: 'Compression level 12 is not valid for gzip',
		});
		await expect(chooseCodec('zstd', 0)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
	});

	withZstd('fails clearly on a damaged zstd stream', async () => {
		const running = await decompress('zstd', Readable.from([Buffer.from('not zstd at all')]));
		running.output.resume();
		await expect(running.done).rejects.toMatchObject({ code: 'DUMP_FAILED' });
	});
});
