// Importing this module registers every built-in architecture.
import './srresnet.js';
import './discriminator.js';
import './vgg19.js';
import './two_stream.js';
export * from './registry.js';
export { buildSRResNet, describeSRResNet, srresnetParams, srresnetFlops, type SRResNetConfig } from './srresnet.js';
export { buildDiscriminator, describeDiscriminator, discriminatorParams, type DiscriminatorConfig } from './discriminator.js';
export { buildTwoStream, describeTwoStream, twoStreamParams, STREAMS, type TwoStreamConfig, type StreamName } from './two_stream.js';
export { ChannelSlice } from './layers/channel_slice.js';
export { buildTfjsModel, SpecWriter, type NetSpec, type LayerSpec } from './spec.js';
export { PixelShuffle, pixelShuffle } from './layers/pixel_shuffle.js';
export {
  buildVgg19Features, vgg19Features, vgg19OutputLayers, vgg19Params, vgg19Flops, vgg19ConvShapes, vggPreprocess, VggPreprocess,
  VGG19_LAYERS, VGG19_LAYER_NAMES, VGG19_CONV_LAYERS, VGG22, VGG54, IMAGENET_BGR_MEAN,
  type Vgg19Config, type Vgg19FeatureOptions, type Vgg19LayerSpec,
} from './vgg19.js';
export {
  loadVgg19, loadVgg19Weights, setVgg19Weights, readKerasH5ConvWeights, readTfjsConvWeights, detectVgg19WeightFormat,
  KERAS_VGG19_NOTOP_FILE, KERAS_VGG19_NOTOP_MD5,
  type Vgg19LoadOptions, type Vgg19WeightFormat, type ConvWeights, type RawWeight,
} from './vgg19_weights.js';
