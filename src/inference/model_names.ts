// The names of the models that ship with the package, apart from the code that loads them, so
// what only needs the names (the method resolver, flag help) does not load TF.js.
export const SHIPPED_MODELS = ['srresnet', 'srgan'] as const;
export type ShippedModel = (typeof SHIPPED_MODELS)[number];
export const DEFAULT_MODEL: ShippedModel = 'srgan';
