/**
 * scripts/capture/capture.sh's argument checks, which run before anything is
 * installed or booted (no QEMU needed): bad usage is exit 2 with a one-line reason.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function capture(args: string[]): { code: number | null; err: string } {
  const r = spawnSync('bash', ['scripts/capture/capture.sh', ...args], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status, err: r.stderr };
}

describe('capture.sh usage', () => {
  it('--help lists --cpu and the configs', () => {
    const r = spawnSync('bash', ['scripts/capture/capture.sh', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--cpu MODEL/);
    expect(r.stdout).toMatch(/retbleed-stuff/);
    expect(r.stdout).toMatch(/eibrs/);
  });
  it('an unknown config is exit 2', () => {
    const r = capture(['--config', 'bogus']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('capture: unknown config: bogus (default | nomitigations | retbleed-stuff | eibrs | rethunk | all)');
  });
  it('a malformed --cpu is exit 2', () => {
    const r = capture(['--cpu', 'Skylake Client']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('capture: bad --cpu model name: Skylake Client');
  });
  it('rethunk (-cpu EPYC) is refused with --cpu', () => {
    const r = capture(['--cpu', 'max', '--config', 'rethunk']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('capture: config rethunk means -cpu EPYC; with --cpu give --cpu EPYC --config default');
  });
  it('--cpu needs a value', () => {
    const r = capture(['--cpu']);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')[0]).toBe('capture: option --cpu needs a value');
  });
});
