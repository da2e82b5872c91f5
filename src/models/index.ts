// Importing this module registers every built-in architecture.
import './srresnet.js';
import './discriminator.js';
export * from './registry.js';
export { buildSRResNet, srresnetParams, srresnetFlops, type SRResNetConfig } from './srresnet.js';
export { buildDiscriminator, discriminatorParams, type DiscriminatorConfig } from './discriminator.js';
export { PixelShuffle, pixelShuffle } from './layers/pixel_shuffle.js';
