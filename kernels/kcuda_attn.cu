// kcuda_attn: causal grouped-query attention over packed samples on the
// GPU, FlashAttention-2 style (Dao 2023): kcuda_attn_fwd and kcuda_attn_bwd
// of kern.h, with kcpu_attn_fwd / kcpu_attn_bwd's arguments and results.
//
// Tiles: a block of 256 threads works on BQ = 64 queries of one sample and
// one head against key tiles of BK = 64 keys, staged in shared memory as
// fp32 whatever the storage type.  Thread (ty, tx) = (tid / 16, tid % 16)
// owns the 4 x 4 scores of rows ty + 16a and keys tx + 16b (a, b < 4), and
// output columns tx + 16e (e < 8, so hd <= 128).  Shared rows are hd + 1
// floats apart (hd is even, so the stride is odd and the 16 keys a
// half-warp reads sit in 16 different banks).  The 16 threads of a row are
// one half of a warp, so row reductions are __shfl_xor_sync with offsets
// below 16.
//
// The arithmetic is scalar fp32 FMA: correct and deterministic first; the
// tensor-core (mma / wgmma on bf16) version is a later optimisation.
//
// Visibility: query j of sample s sees key i of the sample (i counted from
// cu_k[s]) iff i <= qpos[j] and i < the sample's key count; "lim" below is
// min(qpos[j] + 1, nk), the number of keys j sees.
#include <math.h>

#include "kcuda_impl.h"

#define BQ 64
#define BK 64
#define NT 256
#define MAXHD 128
#define NE (MAXHD / 16)   // output columns per thread
#define LDP (BK + 1)      // row stride of the shared score tiles

static_assert(BQ == BK, "load_tile loads BQ rows, of queries or keys");

// Rows [0, BQ) of a tile: row r is token row0 + r of a [tokens x heads x hd]
// array at head head, zero past nrows.  All threads call it.
template <typename T>
__device__ static void
load_tile(float *dst, int ld, const T *src, size_t row0, int nrows,
    int heads, int head, int hd)
{
	int i, r, d;

	for (i = threadIdx.x; i < BQ * hd; i += NT) {
		r = i / hd;
		d = i - r * hd;
		dst[r * ld + d] = r < nrows ?
		    kcuda_ld(src, ((row0 + r) * heads + head) * (size_t)hd + d) :
		    0.0f;
	}
}

// sc[a][b] = A row (ty + 16a) . B row (tx + 16b), over hd, in order.
__device__ static void
tile_dots(const float *A, const float *B, int ld, int hd, float sc[4][4])
{
	const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
	float x[4], y[4];
	int a, b, d;

	for (a = 0; a < 4; a++)
		for (b = 0; b < 4; b++)
			sc[a][b] = 0.0f;
	for (d = 0; d < hd; d++) {
#pragma unroll
		for (a = 0; a < 4; a++)
			x[a] = A[(ty + 16 * a) * ld + d];
#pragma unroll
		for (b = 0; b < 4; b++)
			y[b] = B[(tx + 16 * b) * ld + d];
#pragma unroll
		for (a = 0; a < 4; a++)
#pragma unroll
			for (b = 0; b < 4; b++)
				sc[a][b] = fmaf(x[a], y[b], sc[a][b]);
	}
}

// The number of keys (of nk) that query row j of a sample sees.
__device__ static int
visible(const int32_t *qpos, size_t j, int nk)
{
	int p = qpos[j];

	return p < 0 ? 0 : (p < nk ? p + 1 : nk);
}

// The visible key counts of a query tile's rows (0 past nr); threads
// below BQ write them.
__device__ static void
load_lims(const int32_t *qpos, size_t qb, int q0, int nr, int nk, int *lim_s)
{
	const int r = threadIdx.x;

	if (r < BQ)
		lim_s[r] = r < nr ? visible(qpos, qb + q0 + r, nk) : 0;
}

// D = dout . o of each (query, head) row, the backward's softmax term, is
// kept in the first 4 bytes of that row of dq (hd even: at least 4 bytes,
// 4-aligned) until the dQ kernel, which reads its rows' D before it
// overwrites them: no scratch that grows with the token count, whose total
// the host does not know (it is cu_q[nseq], on the device).
template <typename T>
__device__ static float *
dslot(T *dq, size_t row, int hd)
{
	return (float *)(void *)(dq + row * (size_t)hd);
}

// ---- forward ----

// Grid (query tiles, nseq, nh); the last query tiles see the most keys and
// go first.  K and V of a key tile take turns in one shared buffer: 83 KB
// at hd = 128 instead of 116 let two blocks share an SM, one loading while
// the other computes.
template <typename T>
__global__ static void __launch_bounds__(NT, 2)
attn_fwd_kernel(const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, int nh, int nkv, int hd, float scale, const T *q,
    const T *k, const T *v, T *o, float *lse)
{
	extern __shared__ float smem[];
	__shared__ int lim_s[BQ];
	const int ld = hd + 1, tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
	const int s = blockIdx.y, h = blockIdx.z;
	const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
	const size_t qb = (size_t)cu_q[s], kb = (size_t)cu_k[s];
	const int nq = cu_q[s + 1] - cu_q[s], nk = cu_k[s + 1] - cu_k[s];
	const int kvh = h / (nh / nkv);
	float *Qs = smem, *KVs = Qs + BQ * ld, *Ps = KVs + BK * ld;
	float sc[4][4], acc[4][NE], m[4], l[4], mt, rs, mu, alpha, p, inv;
	int lim[4], nr, kend, k0, a, b, c, e, d, off, cmax, r;
	size_t row;

	if (q0 >= nq)
		return;
	nr = nq - q0 < BQ ? nq - q0 : BQ;
	load_tile(Qs, ld, q, qb + q0, nr, nh, h, hd);
	load_lims(qpos, qb, q0, nr, nk, lim_s);
	__syncthreads();
	kend = 0;
	for (r = 0; r < BQ; r++)
		kend = max(kend, lim_s[r]);
	for (a = 0; a < 4; a++) {
		lim[a] = lim_s[ty + 16 * a];
		m[a] = -INFINITY;
		l[a] = 0.0f;
		for (e = 0; e < NE; e++)
			acc[a][e] = 0.0f;
	}

	// Key tiles past every query's limit are never loaded.
	for (k0 = 0; k0 < kend; k0 += BK) {
		__syncthreads();  // the previous tile's V and Ps are read
		load_tile(KVs, ld, k, kb + k0, nk - k0, nkv, kvh, hd);
		__syncthreads();
		tile_dots(Qs, KVs, ld, hd, sc);
		for (a = 0; a < 4; a++) {
			mt = -INFINITY;
			for (b = 0; b < 4; b++) {
				c = k0 + tx + 16 * b;
				sc[a][b] = c < lim[a] ? sc[a][b] * scale :
				    -INFINITY;
				mt = fmaxf(mt, sc[a][b]);
			}
			for (off = 8; off > 0; off >>= 1)
				mt = fmaxf(mt, __shfl_xor_sync(0xffffffffu, mt,
				    off));
			// Online softmax: a row with no visible key yet keeps
			// m = -inf; mu = 0 then turns exp(-inf - mu) into 0,
			// not NaN.
			mt = fmaxf(m[a], mt);
			mu = mt == -INFINITY ? 0.0f : mt;
			alpha = expf(m[a] - mu);
			rs = 0.0f;
			for (b = 0; b < 4; b++) {
				p = expf(sc[a][b] - mu);
				Ps[(ty + 16 * a) * LDP + tx + 16 * b] = p;
				rs += p;
			}
			for (off = 8; off > 0; off >>= 1)
				rs += __shfl_xor_sync(0xffffffffu, rs, off);
			l[a] = l[a] * alpha + rs;
			m[a] = mt;
			for (e = 0; e < NE; e++)
				acc[a][e] *= alpha;
		}
		__syncthreads();  // K is read, Ps complete
		load_tile(KVs, ld, v, kb + k0, nk - k0, nkv, kvh, hd);
		__syncthreads();
		cmax = kend - k0 < BK ? kend - k0 : BK;
		for (c = 0; c < cmax; c++)
			for (e = 0; e < NE; e++) {
				d = tx + 16 * e;
				if (d < hd)
					for (a = 0; a < 4; a++)
						acc[a][e] = fmaf(Ps[(ty + 16 * a) *
						    LDP + c], KVs[c * ld + d],
						    acc[a][e]);
			}
	}

	// A query that sees no key (qpos < 0, or an empty sample) gets o = 0
	// and lse = -inf.
	for (a = 0; a < 4; a++) {
		r = ty + 16 * a;
		if (r >= nr)
			continue;
		row = (qb + q0 + r) * nh + h;
		inv = l[a] > 0.0f ? 1.0f / l[a] : 0.0f;
		for (e = 0; e < NE; e++) {
			d = tx + 16 * e;
			if (d < hd)
				kcuda_st(o, row * hd + d, acc[a][e] * inv);
		}
		if (tx == 0)
			lse[row] = l[a] > 0.0f ? m[a] + logf(l[a]) : -INFINITY;
	}
}

// ---- backward ----

// D of every (query, head) row into its dq slot; grid (query tiles, nseq,
// nh), a warp per row.
template <typename T>
__global__ static void __launch_bounds__(NT)
attn_bwd_d_kernel(const int32_t *cu_q, int nh, int hd, const T *o,
    const T *dout, T *dq)
{
	const int s = blockIdx.y, h = blockIdx.z, q0 = blockIdx.x * BQ;
	const int lane = threadIdx.x % 32, w = threadIdx.x / 32;
	const int nq = cu_q[s + 1] - cu_q[s];
	size_t row;
	float sum;
	int r, d, off;

	for (r = w; r < BQ && q0 + r < nq; r += NT / 32) {
		row = ((size_t)cu_q[s] + q0 + r) * nh + h;
		sum = 0.0f;
		for (d = lane; d < hd; d += 32)
			sum = fmaf(kcuda_ld(dout, row * hd + d),
			    kcuda_ld(o, row * hd + d), sum);
		for (off = 16; off > 0; off >>= 1)
			sum += __shfl_xor_sync(0xffffffffu, sum, off);
		if (lane == 0)
			*dslot(dq, row, hd) = sum;
	}
}

// The probabilities and score gradients of one (query tile, key tile):
// p = exp(scale q.k - lse) where the key is visible (else 0), ds = p (dout.v
// - D) scale; into Ps (unless NULL) and dSs, rows = queries, columns = keys.
__device__ static void
tile_grads(const float *Qs, const float *dOs, const float *Ks,
    const float *Vs, int ld, int hd, float scale, int k0, const int *lim_s,
    const float *lse_s, const float *D_s, float *Ps, float *dSs)
{
	const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;
	float sc[4][4], dp[4][4], p;
	int a, b, r, c;

	tile_dots(Qs, Ks, ld, hd, sc);
	tile_dots(dOs, Vs, ld, hd, dp);
	for (a = 0; a < 4; a++) {
		r = ty + 16 * a;
		for (b = 0; b < 4; b++) {
			c = tx + 16 * b;
			p = k0 + c < lim_s[r] ?
			    expf(sc[a][b] * scale - lse_s[r]) : 0.0f;
			if (Ps != NULL)
				Ps[r * LDP + c] = p;
			dSs[r * LDP + c] = p * (dp[a][b] - D_s[r]) * scale;
		}
	}
}

// lse and D (from the dq slots) of a query tile's rows for head h.
template <typename T>
__device__ static void
load_rows(const float *lse, const T *dq, size_t qb, int q0, int nr, int nh,
    int h, int hd, float *lse_s, float *D_s)
{
	const int r = threadIdx.x;
	size_t row;

	if (r >= BQ)
		return;
	if (r < nr) {
		row = (qb + q0 + r) * nh + h;
		lse_s[r] = lse[row];
		D_s[r] = *dslot((T *)dq, row, hd);
	} else {
		lse_s[r] = 0.0f;
		D_s[r] = 0.0f;
	}
}

// dK, dV of one key tile of one kv head: grid (key tiles, nseq, nkv); loops
// over the query tiles that see the key tile and the query heads of the
// group, in a fixed order, and adds its sums into dk, dv (no atomics: each
// (key, kv head) row belongs to one block).  The first key tiles see the
// most queries and go first.
template <typename T>
__global__ static void __launch_bounds__(NT)
attn_bwd_dkdv_kernel(const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, int nh, int nkv, int hd, float scale, const T *q,
    const T *k, const T *v, const float *lse, const T *dout, const T *dq,
    T *dk, T *dv)
{
	extern __shared__ float smem[];
	__shared__ int lim_s[BQ];
	__shared__ float lse_s[BQ], D_s[BQ];
	const int ld = hd + 1, tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
	const int s = blockIdx.y, kvh = blockIdx.z, k0 = blockIdx.x * BK;
	const size_t qb = (size_t)cu_q[s], kb = (size_t)cu_k[s];
	const int nq = cu_q[s + 1] - cu_q[s], nk = cu_k[s + 1] - cu_k[s];
	const int group = nh / nkv;
	float *Ks = smem, *Vs = Ks + BK * ld, *Qs = Vs + BK * ld;
	float *dOs = Qs + BQ * ld, *Ps = dOs + BQ * ld, *dSs = Ps + BQ * LDP;
	float adk[4][NE], adv[4][NE], pv[4], sv[4], x, y;
	int q0, nr, hh, h, r, a, e, d, c, seen;
	size_t row;

	if (k0 >= nk)
		return;
	load_tile(Ks, ld, k, kb + k0, nk - k0, nkv, kvh, hd);
	load_tile(Vs, ld, v, kb + k0, nk - k0, nkv, kvh, hd);
	for (a = 0; a < 4; a++)
		for (e = 0; e < NE; e++) {
			adk[a][e] = 0.0f;
			adv[a][e] = 0.0f;
		}

	for (q0 = 0; q0 < nq; q0 += BQ) {
		nr = nq - q0 < BQ ? nq - q0 : BQ;
		__syncthreads();  // the last query tile's lim_s is read
		load_lims(qpos, qb, q0, nr, nk, lim_s);
		__syncthreads();
		// A query tile none of whose queries sees key k0 has nothing
		// for this key tile.
		seen = 0;
		for (r = 0; r < BQ; r++)
			seen |= lim_s[r] > k0;
		if (!seen)
			continue;
		for (hh = 0; hh < group; hh++) {
			h = kvh * group + hh;
			__syncthreads();  // the last round's tiles are read
			load_tile(Qs, ld, q, qb + q0, nr, nh, h, hd);
			load_tile(dOs, ld, dout, qb + q0, nr, nh, h, hd);
			load_rows(lse, dq, qb, q0, nr, nh, h, hd, lse_s, D_s);
			__syncthreads();
			tile_grads(Qs, dOs, Ks, Vs, ld, hd, scale, k0, lim_s,
			    lse_s, D_s, Ps, dSs);
			__syncthreads();  // Ps, dSs complete
			for (r = 0; r < nr; r++) {
				for (a = 0; a < 4; a++) {
					pv[a] = Ps[r * LDP + ty + 16 * a];
					sv[a] = dSs[r * LDP + ty + 16 * a];
				}
				for (e = 0; e < NE; e++) {
					d = tx + 16 * e;
					if (d >= hd)
						continue;
					x = dOs[r * ld + d];
					y = Qs[r * ld + d];
					for (a = 0; a < 4; a++) {
						adv[a][e] = fmaf(pv[a], x,
						    adv[a][e]);
						adk[a][e] = fmaf(sv[a], y,
						    adk[a][e]);
					}
				}
			}
		}
	}

	for (a = 0; a < 4; a++) {
		c = ty + 16 * a;
		if (k0 + c >= nk)
			continue;
		row = (kb + k0 + c) * nkv + kvh;
		for (e = 0; e < NE; e++) {
			d = tx + 16 * e;
			if (d >= hd)
				continue;
			kcuda_st(dk, row * hd + d, kcuda_ld(dk, row * hd + d) +
			    adk[a][e]);
			kcuda_st(dv, row * hd + d, kcuda_ld(dv, row * hd + d) +
			    adv[a][e]);
		}
	}
}

// dQ of one query tile of one head: grid (query tiles, nseq, nh); loops
// over the visible key tiles and overwrites dq.
template <typename T>
__global__ static void __launch_bounds__(NT)
attn_bwd_dq_kernel(const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, int nh, int nkv, int hd, float scale, const T *q,
    const T *k, const T *v, const float *lse, const T *dout, T *dq)
{
	extern __shared__ float smem[];
	__shared__ int lim_s[BQ];
	__shared__ float lse_s[BQ], D_s[BQ];
	const int ld = hd + 1, tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
	const int s = blockIdx.y, h = blockIdx.z;
	const int q0 = (gridDim.x - 1 - blockIdx.x) * BQ;
	const size_t qb = (size_t)cu_q[s], kb = (size_t)cu_k[s];
	const int nq = cu_q[s + 1] - cu_q[s], nk = cu_k[s + 1] - cu_k[s];
	const int kvh = h / (nh / nkv);
	float *Qs = smem, *dOs = Qs + BQ * ld, *Ks = dOs + BQ * ld;
	float *Vs = Ks + BK * ld, *dSs = Vs + BK * ld;
	float acc[4][NE], sv[4], x;
	int nr, kend, k0, cmax, r, c, a, e, d;
	size_t row;

	if (q0 >= nq)
		return;
	nr = nq - q0 < BQ ? nq - q0 : BQ;
	load_tile(Qs, ld, q, qb + q0, nr, nh, h, hd);
	load_tile(dOs, ld, dout, qb + q0, nr, nh, h, hd);
	load_lims(qpos, qb, q0, nr, nk, lim_s);
	load_rows(lse, dq, qb, q0, nr, nh, h, hd, lse_s, D_s);
	// From here on the block's dq rows are free: their D is in D_s.
	__syncthreads();
	kend = 0;
	for (r = 0; r < BQ; r++)
		kend = max(kend, lim_s[r]);
	for (a = 0; a < 4; a++)
		for (e = 0; e < NE; e++)
			acc[a][e] = 0.0f;

	for (k0 = 0; k0 < kend; k0 += BK) {
		__syncthreads();  // the previous tile's Ks, dSs are read
		load_tile(Ks, ld, k, kb + k0, nk - k0, nkv, kvh, hd);
		load_tile(Vs, ld, v, kb + k0, nk - k0, nkv, kvh, hd);
		__syncthreads();
		tile_grads(Qs, dOs, Ks, Vs, ld, hd, scale, k0, lim_s, lse_s,
		    D_s, NULL, dSs);
		__syncthreads();  // dSs complete
		cmax = kend - k0 < BK ? kend - k0 : BK;
		for (c = 0; c < cmax; c++) {
			for (a = 0; a < 4; a++)
				sv[a] = dSs[(ty + 16 * a) * LDP + c];
			for (e = 0; e < NE; e++) {
				d = tx + 16 * e;
				if (d >= hd)
					continue;
				x = Ks[c * ld + d];
				for (a = 0; a < 4; a++)
					acc[a][e] = fmaf(sv[a], x, acc[a][e]);
			}
		}
	}

	for (a = 0; a < 4; a++) {
		r = ty + 16 * a;
		if (r >= nr)
			continue;
		row = (qb + q0 + r) * nh + h;
		for (e = 0; e < NE; e++) {
			d = tx + 16 * e;
			if (d < hd)
				kcuda_st(dq, row * hd + d, acc[a][e]);
		}
	}
}

// ---- launchers ----

// The arguments both directions share, checked before any device work.
static int
attn_args(size_t nseq, size_t max_q, size_t nh, size_t nkv, size_t hd)
{
	KC_ARG(hd >= 2 && hd <= MAXHD && hd % 2 == 0,
	    "attention: hd must be even, 2 to 128");
	KC_ARG(nh > 0 && nkv > 0 && nh % nkv == 0,
	    "attention: nh must be a positive multiple of nkv");
	KC_ARG(nseq <= 65535 && nh <= 65535,
	    "attention: more than 65535 sequences or heads");
	KC_ARG(max_q / BQ < 65536 * 32768UL,
	    "attention: max_q too large for the grid");
	return 0;
}

static size_t
fwd_smem(size_t hd)
{
	return ((BQ + BK) * (hd + 1) + BQ * LDP) * sizeof(float);
}

static size_t
dkdv_smem(size_t hd)
{
	return ((2 * BQ + 2 * BK) * (hd + 1) + 2 * BQ * LDP) * sizeof(float);
}

static size_t
dq_smem(size_t hd)
{
	return ((2 * BQ + 2 * BK) * (hd + 1) + BQ * LDP) * sizeof(float);
}

template <typename T>
static int
attn_fwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, size_t max_q, size_t nh, size_t nkv, size_t hd,
    const T *q, const T *k, const T *v, T *o, float *lse)
{
	const size_t sm = fwd_smem(hd);
	const dim3 grid((unsigned)((max_q + BQ - 1) / BQ), (unsigned)nseq,
	    (unsigned)nh);

	KC_CUDA(cudaFuncSetAttribute(attn_fwd_kernel<T>,
	    cudaFuncAttributeMaxDynamicSharedMemorySize, (int)sm));
	attn_fwd_kernel<T><<<grid, NT, sm, KC_STREAM>>>(cu_q, cu_k, qpos,
	    (int)nh, (int)nkv, (int)hd, (float)(1.0 / sqrt((double)hd)), q, k,
	    v, o, lse);
	KC_LAUNCHED("attn_fwd_kernel");
	return 0;
}

template <typename T>
static int
attn_bwd(size_t nseq, const int32_t *cu_q, const int32_t *cu_k,
    const int32_t *qpos, size_t max_q, size_t max_k, size_t nh, size_t nkv,
    size_t hd, const T *q, const T *k, const T *v, const T *o,
    const float *lse, const T *dout, T *dq, T *dk, T *dv)
{
	const float scale = (float)(1.0 / sqrt((double)hd));
	const dim3 qgrid((unsigned)((max_q + BQ - 1) / BQ), (unsigned)nseq,
	    (unsigned)nh);
	const dim3 kgrid((unsigned)((max_k + BK - 1) / BK), (unsigned)nseq,
	    (unsigned)nkv);

	attn_bwd_d_kernel<T><<<qgrid, NT, 0, KC_STREAM>>>(cu_q, (int)nh,
	    (int)hd, o, dout, dq);
	KC_LAUNCHED("attn_bwd_d_kernel");
	// dK, dV read D from dq before the dQ kernel overwrites it (one
	// stream: the kernels run in this order).
	if (max_k > 0) {
		KC_CUDA(cudaFuncSetAttribute(attn_bwd_dkdv_kernel<T>,
		    cudaFuncAttributeMaxDynamicSharedMemorySize,
		    (int)dkdv_smem(hd)));
		attn_bwd_dkdv_kernel<T><<<kgrid, NT, dkdv_smem(hd),
		    KC_STREAM>>>(cu_q, cu_k, qpos, (int)nh, (int)nkv, (int)hd,
		    scale, q, k, v, lse, dout, dq, dk, dv);
		KC_LAUNCHED("attn_bwd_dkdv_kernel");
	}
	KC_CUDA(cudaFuncSetAttribute(attn_bwd_dq_kernel<T>,
	    cudaFuncAttributeMaxDynamicSharedMemorySize, (int)dq_smem(hd)));
	attn_bwd_dq_kernel<T><<<qgrid, NT, dq_smem(hd), KC_STREAM>>>(cu_q,
	    cu_k, qpos, (int)nh, (int)nkv, (int)hd, scale, q, k, v, lse, dout,
	    dq);
	KC_LAUNCHED("attn_bwd_dq_kernel");
	return 0;
}

extern "C" int
kcuda_attn_fwd(struct kcuda *k, enum kern_dtype dt, size_t nseq,
    const int32_t *cu_q, const int32_t *cu_k, const int32_t *qpos,
    size_t max_q, size_t max_k, size_t nh, size_t nkv, size_t hd,
    const void *q, const void *kk, const void *v, void *o, float *lse)
{
	if (attn_args(nseq, max_q, nh, nkv, hd) != 0)
		return 1;
	if (nseq == 0 || max_q == 0)
		return 0;
	switch (dt) {
	case KERN_F32:
		return attn_fwd<float>(nseq, cu_q, cu_k, qpos, max_q, nh, nkv,
		    hd, (const float *)q, (const float *)kk, (const float *)v,
		    (float *)o, lse);
	case KERN_BF16:
		return attn_fwd<__nv_bfloat16>(nseq, cu_q, cu_k, qpos, max_q,
		    nh, nkv, hd, (const __nv_bfloat16 *)q,
		    (const __nv_bfloat16 *)kk, (const __nv_bfloat16 *)v,
		    (__nv_bfloat16 *)o, lse);
	}
	return kcuda_fail(__func__, __FILE__, __LINE__, "unknown element type");
}

extern "C" int
kcuda_attn_bwd(struct kcuda *k, enum kern_dtype dt, size_t nseq,
    const int32_t *cu_q, const int32_t *cu_k, const int32_t *qpos,
    size_t max_q, size_t max_k, size_t nh, size_t nkv, size_t hd,
    const void *q, const void *kk, const void *v, const void *o,
    const float *lse, const void *dout, void *dq, void *dk, void *dv)
{
	if (attn_args(nseq, max_q, nh, nkv, hd) != 0)
		return 1;
	if (nseq == 0 || max_q == 0)
		return 0;
	switch (dt) {
	case KERN_F32:
		return attn_bwd<float>(nseq, cu_q, cu_k, qpos, max_q, max_k,
		    nh, nkv, hd, (const float *)q, (const float *)kk,
		    (const float *)v, (const float *)o, lse,
		    (const float *)dout, (float *)dq, (float *)dk, (float *)dv);
	case KERN_BF16:
		return attn_bwd<__nv_bfloat16>(nseq, cu_q, cu_k, qpos, max_q,
		    max_k, nh, nkv, hd, (const __nv_bfloat16 *)q,
		    (const __nv_bfloat16 *)kk, (const __nv_bfloat16 *)v,
		    (const __nv_bfloat16 *)o, lse, (const __nv_bfloat16 *)dout,
		    (__nv_bfloat16 *)dq, (__nv_bfloat16 *)dk,
		    (__nv_bfloat16 *)dv);
	}
	return kcuda_fail(__func__, __FILE__, __LINE__, "unknown element type");
}
