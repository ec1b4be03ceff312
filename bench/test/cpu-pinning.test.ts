import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { allowedCpus, pinProcess } from '../lib/cpu-pinning.js';

describe('bench --pin (taskset)', () => {
  it('restricts every thread of a running process to the given CPUs', async () => {
    // A Node process has several threads (libuv pool, V8 platform); it waits on stdin until killed.
    const child = spawn(process.execPath, ['-e', 'process.stdout.write("ready\\n"); process.stdin.resume()'], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      // Once it prints, Node has started its threads.
      await once(child.stdout!, 'data');
      pinProcess(child.pid!, '0');
      expect(allowedCpus(child.pid!)).to.equal('0');
      const threads = readdirSync(`/proc/${child.pid}/task`);
      expect(threads.length).to.be.greaterThan(1);
      for (const tid of threads) {
        expect(readFileSync(`/proc/${child.pid}/task/${tid}/status`, 'utf8')).to.match(/^Cpus_allowed_list:\s+0$/m, `thread ${tid}`);
      }
    } finally {
      child.kill();
    }
  });

  it('names the process when taskset refuses', () => {
    expect(() => pinProcess(2 ** 22 + 12345, '0')).to.throw(/could not pin process 4206649: no such process/);
  });
});
