// Entry point of the kernels module. Each kernel is its own export (the JS side calls them directly for
// work that stays on one thread), and `plan_run` runs a plan (assembly/step.ts): the phases of a training
// step, or one split kernel call, on every thread of the pool at once. The module imports a shared memory and
// owns none of it beyond its (tiny) static data: the JS side allocates every buffer.

export {
  gemm_forward,
  gemm_forward_part,
  add_partial,
  gemm_weights,
  gemm_input,
  column_sums,
  gemm_scratch_bytes,
  gemm_tune,
} from './gemm';
export {
  activation_block,
  softmax_rows,
  activation_backward,
  softmax_backward,
  sum_of_squares,
  scale,
  first_non_finite,
  gather_rows,
} from './elementwise';
export { loss, count_correct } from './loss';
export {
  add_arrays,
  zero_pad,
  conv2d_forward,
  conv2d_forward_lists,
  conv2d_weights,
  conv2d_weights_lists,
  conv2d_weights_columns,
  conv2d_winograd,
  conv2d_forward_entries,
  nonzero_entries,
  winograd_filters,
  winograd_scratch_bytes,
  winograd_filter_bytes,
  nonzero_channels,
  conv2d_input,
  conv2d_flip,
  im2col,
  col2im,
  depthwise_forward,
  depthwise_input,
  depthwise_flip,
  depthwise_weights,
  channel_sums,
  max_pool_forward,
  max_pool_backward,
  avg_pool_forward,
  avg_pool_backward,
  relu_forward,
  relu_backward,
  channel_moments,
  bn_normalize,
  bn_sums,
  channel_affine,
} from './conv';
export { madd_probe, optimizer_update } from './optimizers';
export { plan_run } from './step';

/** End of this module's static data: the JS allocator must start above it. */
export function heap_base(): usize {
  return __heap_base;
}
