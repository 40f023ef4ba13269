// Width and height of a JPEG from its frame header (SOFn), without decoding:
// one walker over JPEG markers for agent and cloud, in @frameline/shared.
export { jpegSize, type JpegSize } from '@frameline/shared';
