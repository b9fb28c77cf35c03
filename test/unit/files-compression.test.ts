import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { chooseCodec, compress, decompress } from '../../core/sources/protheus-files/compression';

const hasZstd = spawnSync('zstd', ['--version']).status === 0;
/** Tests that need the zstd command say so when it is missing (scripts/setup.sh installs it). */
const withZstd = (name: string, fn: () => Promise<void>) => (hasZstd ? it(name, fn) : it.skip(`skipped: zstd is not installed: ${name}`, fn));

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

	it('falls back to gzip, saying why, when zstd is not installed', async () => {
		const codec = await chooseCodec('zstd', 19, '/nonexistent/zstd');
		expect(codec).toMatchObject({ method: 'gzip', level: null });
		expect(codec.description).toContain('zstd command not found');
	});

	it('refuses a level the method does not have', async () => {
		await expect(chooseCodec('gzip', 12)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'Compression level 12 is not valid for gzip' });
		await expect(chooseCodec('zstd', 0)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
	});

	withZstd('fails clearly on a damaged zstd stream', async () => {
		const running = await decompress('zstd', Readable.from([Buffer.from('not zstd at all')]));
		running.output.resume();
		await expect(running.done).rejects.toMatchObject({ code: 'DUMP_FAILED' });
	});
});
