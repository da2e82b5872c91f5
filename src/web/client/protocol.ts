// Messages between the studio page and its worker, and the model catalog the server hands out.

export interface ModelInfo {
  id: string;
  label: string;
  scale: number;
  /** tensor layout of the model's input and output */
  layout: 'nchw' | 'nhwc';
  /** the range of the model's output values, mapped to [0, 1] */
  outputRange: [number, number];
  url: string;
  note?: string;
}

export interface Catalog {
  models: ModelInfo[];
  /** network interpolation between two models, when the server can make it */
  dial: { from: string; to: string; url: string; note: string } | null;
  limits: { maxPixels: number; maxSide: number; maxFileBytes: number };
  source: string;
}

export interface ModelRef {
  /** what to fetch; also the session cache key */
  url: string;
  layout: 'nchw' | 'nhwc';
  outputRange: [number, number];
  scale: number;
}

export type ToWorker =
  | { type: 'upscale'; job: number; model: ModelRef; width: number; height: number; rgba: Uint8ClampedArray; tile: number; overlap: number; backend: 'auto' | 'wasm' | 'webgpu' }
  | { type: 'cancel'; job: number };

export type FromWorker =
  | { type: 'status'; job: number; text: string }
  | { type: 'bicubic'; job: number; width: number; height: number; rgba: Uint8ClampedArray }
  | { type: 'progress'; job: number; done: number; total: number }
  | { type: 'result'; job: number; width: number; height: number; rgba: Uint8ClampedArray; backend: string; seconds: number }
  | { type: 'error'; job: number; message: string; cancelled?: boolean };
