// ffmpeg and ffprobe as the video tests drive them: make fixtures, count decoded frames.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { FfmpegTools } from '../../src/video/ffmpeg.js';

/** Runs ffmpeg (errors only, overwriting) and fails the test with its stderr if it fails. */
export function runFfmpeg(tools: FfmpegTools, args: string[]): void {
  const r = spawnSync(tools.ffmpeg, ['-v', 'error', '-y', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** Frames of the first video stream, counted by decoding it. */
export function countFrames(tools: FfmpegTools, path: string): number {
  const r = spawnSync(tools.ffprobe, ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}
