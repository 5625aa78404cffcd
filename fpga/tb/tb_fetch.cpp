// SPDX-License-Identifier: GPL-2.0
/*
 * Verilator bench of the remote-fetch engine: two cards, A and B, joined
 * by a link that delays words, stalls the sender, flips bits in frames
 * (CRC errors) and loses whole frames (timeouts). Each card fetches
 * pages from the other, many at once, while serving the other's fetches
 * from a host memory that answers after random delays.
 *
 * Checked, or the bench fails:
 *  - every frame either card sends is the one the C model builds from its
 *    fields, word for word and CRC included (fpga/model/rmem_model.c);
 *  - a served page's DATA frames come first-sent in the model's order:
 *    the wanted line, then the next ones, wrapping;
 *  - the wanted line reaches the crit port before any line of its page
 *    lands, with the right bytes;
 *  - every fetched page lands whole and byte-exact, and completes once;
 *  - counters: fetches, pages served, CRC errors (one per corrupted
 *    frame received), refused submissions.
 *
 *   tb_fetch [--seed N] [--fetches N] [--flip P] [--lose P] [--slow-memory]
 *            [--serial] [--quiet]
 *
 * P is a per-frame probability in 1/1000ths. --slow-memory lands a line
 * in 16 cycles on average, slower than frames arrive, so that DATA frames
 * find no room and come again. --serial submits one fetch at a time: the
 * latencies then show what critical-word-first saves.
 */
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vrmem_fetch.h"
#include "verilated.h"

extern "C" {
#include "rmem_common.h"
#include "rmem_model.h"
}

static std::mt19937_64 rng;
static int bad;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		if (bad++ < 10) { fprintf(stderr, "tb_fetch: " __VA_ARGS__); fputc('\n', stderr); } \
	} } while (0)

/* A card's host memory: the bytes of any line, made up from its address. */
static uint64_t host_word(int side, uint64_t line_addr, int i)
{
	uint64_t x = line_addr * 8 + i + (side ? 0x5bd1e995ull << 32 : 0);

	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

template <typename W> static void wide_get(const W &w, uint64_t *out)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint64_t)w[2 * i] | (uint64_t)w[2 * i + 1] << 32;
}

template <typename W> static void wide_set(W &w, const uint64_t *in)
{
	for (int i = 0; i < 8; i++) {
		w[2 * i] = (uint32_t)in[i];
		w[2 * i + 1] = (uint32_t)(in[i] >> 32);
	}
}

/* One direction of the link: words in flight, some corrupted or lost. */
struct channel {
	struct word { uint64_t data; bool last, corrupt; uint64_t at; };
	std::deque<word> q;
	std::vector<uint64_t> frame;	// words of the frame being sent
	unsigned flip, lose;		// per 1000 frames
	uint64_t flipped = 0, lost = 0, flipped_in = 0;	// corrupted, and delivered
	bool ready = true;

	// the sender's word, taken this cycle; the frame leaves when whole
	void take(uint64_t data, bool last, uint64_t now)
	{
		frame.push_back(data);
		if (!last)
			return;
		if (rng() % 1000 < lose) {
			lost++;
		} else {
			bool corrupt = rng() % 1000 < flip;

			if (corrupt) {
				frame[rng() % frame.size()] ^= 1ull << (rng() % 64);
				flipped++;
			}
			for (size_t i = 0; i < frame.size(); i++)
				q.push_back({frame[i], i + 1 == frame.size(), corrupt, now + 8 + i});
		}
		frame.clear();
	}
};

struct fetch { uint64_t remote, local; unsigned wanted, landed = 0; bool crit = false;
	       uint64_t t0, t_req = 0, t_crit = 0; };

struct card {
	int side;
	std::unique_ptr<Vrmem_fetch> v;
	// requester
	std::vector<bool> tag_busy;
	std::map<unsigned, fetch> inflight;	// by tag
	std::deque<std::pair<uint16_t, uint64_t>> regq;	// register writes to do
	std::map<uint64_t, std::vector<uint64_t>> landed;	// local line address -> bytes
	uint64_t submitted = 0, completed = 0, rejected_expected = 0;
	uint64_t crit_cycles = 0, done_cycles = 0;	// from the REQ's first sending
	// responder: host reads in flight, answered in order
	std::deque<std::pair<uint64_t, uint64_t>> reads;	// addr, ready at
	// frames this card sent
	std::vector<uint64_t> txw;
	unsigned hi_seq = 0;	// first never-sent sequence number
	std::map<unsigned, unsigned> served_next;	// tag -> lines first-sent
	std::map<unsigned, std::vector<uint64_t>> sent;	// sequence number -> words
};

int main(int argc, char **argv)
{
	uint64_t seed = 1, nfetch = 200;
	unsigned flip = 20, lose = 5;
	bool quiet = false, slow = false, serial = false;
	bool trace = getenv("TB_FETCH_TRACE") != nullptr;

	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];

		if (a == "--quiet") { quiet = true; continue; }
		if (a == "--slow-memory") { slow = true; continue; }
		if (a == "--serial") { serial = true; continue; }
		if (i + 1 >= argc) { fprintf(stderr, "tb_fetch: %s needs a value\n", argv[i]); return 2; }
		uint64_t v;
		if (rmem_parse_u64(argv[++i], &v)) {
			fprintf(stderr, "tb_fetch: %s: not a number: '%s'\n", a.c_str(), argv[i]);
			return 2;
		}
		if (a == "--seed") seed = v;
		else if (a == "--fetches") nfetch = v;
		else if (a == "--flip") flip = v;
		else if (a == "--lose") lose = v;
		else { fprintf(stderr, "usage: tb_fetch [--seed N] [--fetches N] [--flip P] [--lose P] [--quiet]\n"); return 2; }
	}
	rng.seed(seed);

	auto ctx = std::make_unique<VerilatedContext>();
	card c[2];
	channel ch[2];		// ch[s]: from card s to card 1 - s
	for (int s = 0; s < 2; s++) {
		c[s].side = s;
		c[s].v.reset(new Vrmem_fetch(ctx.get()));
		ch[s].flip = flip;
		ch[s].lose = lose;
	}
	for (auto &k : c) {
		k.v->clk = 0;
		k.v->rst = 1;
		k.v->enable = 1;
		k.v->eval();
	}
	for (int t = 0; t < 2; t++)
		for (auto &k : c) {
			k.v->clk = 1; k.v->eval(); k.v->clk = 0; k.v->eval();
		}
	for (auto &k : c) {
		k.v->rst = 0;
		k.v->reg_addr = RMEM_FPGA_REG_FETCH_CONFIG;
		k.v->eval();
		k.tag_busy.assign(1u << RMEM_FPGA_FETCH_TAG_BITS(k.v->reg_rdata), false);
	}

	uint64_t now = 0, limit = 20000 + nfetch * 4000;
	for (; now < limit; now++) {
		bool done = true;

		for (int s = 0; s < 2; s++) {
			card &k = c[s];
			Vrmem_fetch *v = k.v.get();

			// the host: submit (three register writes), or collect a completion
			v->reg_wr = 0;
			v->reg_rd = 0;
			if (k.regq.empty() && k.submitted < nfetch && rng() % 4 == 0 &&
			    (!serial || (k.inflight.empty() && c[1 - s].inflight.empty() && s == 0))) {
				unsigned tag = rng() % k.tag_busy.size();

				if (k.tag_busy[tag] && rng() % 8 == 0) {
					// a busy tag: the engine must refuse it, and count it
					k.regq.push_back({RMEM_FPGA_REG_FETCH_LINE, tag << 8});
					k.regq.push_back({RMEM_FPGA_REG_FETCH_REMOTE, 1});
					k.rejected_expected++;
				} else if (!k.tag_busy[tag]) {
					fetch f;

					f.remote = rng() & ((1ull << 36) - 1);
					f.local = 0x100000 + s * 0x10000 + k.submitted;
					f.wanted = rng() % 64;
					f.t0 = now + 2;
					k.tag_busy[tag] = true;
					k.inflight[tag] = f;
					k.regq.push_back({RMEM_FPGA_REG_FETCH_LOCAL, f.local});
					k.regq.push_back({RMEM_FPGA_REG_FETCH_LINE, tag << 8 | f.wanted});
					k.regq.push_back({RMEM_FPGA_REG_FETCH_REMOTE, f.remote});
					k.submitted++;
				}
			}
			if (!k.regq.empty()) {
				v->reg_wr = 1;
				v->reg_addr = k.regq.front().first;
				v->reg_wdata = k.regq.front().second;
				k.regq.pop_front();
			} else {
				v->reg_rd = 1;
				v->reg_addr = RMEM_FPGA_REG_FETCH_DONE;
			}
			// memories and link
			v->lw_ready = slow ? rng() % 16 == 0 : rng() % 3 != 0;
			v->hr_ready = rng() % 2 != 0;
			v->hr_rvalid = 0;
			if (!k.reads.empty() && k.reads.front().second <= now) {
				uint64_t d[8], a = k.reads.front().first;

				for (int i = 0; i < 8; i++)
					d[i] = host_word(s, a >> 6, i);
				wide_set(v->hr_rdata, d);
				v->hr_rvalid = 1;
				k.reads.pop_front();
			}
			ch[s].ready = rng() % 5 != 0;
			v->tx_ready = ch[s].ready;
			channel &in = ch[1 - s];
			v->rx_valid = 0;
			if (!in.q.empty() && in.q.front().at <= now) {
				v->rx_valid = 1;
				v->rx_data = in.q.front().data;
				v->rx_last = in.q.front().last;
				if (in.q.front().last && in.q.front().corrupt)
					in.flipped_in++;
				in.q.pop_front();
			}
			v->eval();
		}

		// what the coming edge takes, seen from outside
		for (int s = 0; s < 2; s++) {
			card &k = c[s];
			Vrmem_fetch *v = k.v.get();

			if (v->reg_rd && (v->reg_rdata & RMEM_FPGA_DONE_VALID)) {
				unsigned tag = v->reg_rdata & 0xff;
				auto it = k.inflight.find(tag);

				CHECK(it != k.inflight.end(), "card %d: completion of idle tag %u", s, tag);
				if (it != k.inflight.end()) {
					CHECK(it->second.landed == 64 && it->second.crit,
					      "card %d: tag %u done with %u lines landed, crit %d", s, tag,
					      it->second.landed, it->second.crit);
					k.done_cycles += now - it->second.t_req;
					k.crit_cycles += it->second.t_crit - it->second.t_req;
					k.inflight.erase(it);
					k.tag_busy[tag] = false;
					k.completed++;
				}
			}
			if (v->crit_valid) {
				auto it = k.inflight.find(v->crit_tag);
				uint64_t d[8];

				wide_get(v->crit_data, d);
				CHECK(it != k.inflight.end(), "card %d: crit line for idle tag %u", s, v->crit_tag);
				if (it != k.inflight.end()) {
					fetch &f = it->second;

					CHECK(!f.crit && f.landed == 0, "card %d: crit line of tag %u after %u lines landed",
					      s, v->crit_tag, f.landed);
					for (int i = 0; i < 8; i++)
						CHECK(d[i] == host_word(1 - s, f.remote << 6 | f.wanted, i),
						      "card %d: crit line of tag %u has wrong bytes", s, v->crit_tag);
					f.crit = true;
					f.t_crit = now;
				}
			}
			if (v->lw_valid && v->lw_ready) {
				uint64_t d[8], a = v->lw_addr;
				bool found = false;

				wide_get(v->lw_data, d);
				CHECK(!(a & 63), "card %d: landing at unaligned %#" PRIx64, s, a);
				for (auto &p : k.inflight) {
					fetch &f = p.second;

					if (a >> 12 != f.local)
						continue;
					found = true;
					CHECK(!k.landed.count(a), "card %d: line %#" PRIx64 " landed twice", s, a);
					for (int i = 0; i < 8; i++)
						CHECK(d[i] == host_word(1 - s, f.remote << 6 | (a >> 6 & 63), i),
						      "card %d: line %#" PRIx64 " landed with wrong bytes", s, a);
					k.landed[a] = std::vector<uint64_t>(d, d + 8);
					f.landed++;
				}
				CHECK(found, "card %d: landing at %#" PRIx64 ", no fetch's page", s, a);
			}
			if (v->hr_valid && v->hr_ready) {
				CHECK(!(v->hr_addr & 63), "card %d: unaligned host read", s);
				k.reads.push_back({v->hr_addr, now + 1 + rng() % 24});
			}
			if (v->tx_valid && v->tx_ready) {
				k.txw.push_back(v->tx_data);
				if (v->tx_last) {
					struct rmem_fetch_frame f;
					const char *why;
					uint64_t w[RMEM_FETCH_MAX_WORDS];

					if (rmem_fetch_frame_check(k.txw.data(), k.txw.size(), &f, &why)) {
						CHECK(false, "card %d sent a bad frame: %s", s, why);
					} else {
						unsigned n = rmem_fetch_frame_build(&f, w);

						if (trace)
							printf("%8" PRIu64 " card %d sends type %u seq %u tag %u line %u\n",
							       now, s, f.type, f.seq, f.tag, f.line);

						CHECK(n == k.txw.size() && !memcmp(w, k.txw.data(), n * 8),
						      "card %d: frame differs from the model's", s);
						bool numbered = f.type == RMEM_FPGA_FRAME_REQ ||
								f.type == RMEM_FPGA_FRAME_DATA;
						bool fresh = numbered && (uint16_t)(f.seq - k.hi_seq) < 0x8000;
						if (numbered && !fresh) {
							// sent again: the very frame first sent with this number
							CHECK(k.sent[f.seq] == k.txw, "card %d: frame %u sent again differs", s, f.seq);
						} else if (fresh) {
							CHECK(f.seq == k.hi_seq, "card %d: frame %u sent before %u", s, f.seq, k.hi_seq);
							k.hi_seq = (f.seq + 1) & 0xffff;
							k.sent[f.seq] = k.txw;
						}
						if (fresh && f.type == RMEM_FPGA_FRAME_REQ) {
							auto it = k.inflight.find(f.tag);
							CHECK(it != k.inflight.end() && it->second.remote == f.page &&
							      it->second.wanted == f.line,
							      "card %d: REQ for tag %u is not the submitted fetch", s, f.tag);
							if (it != k.inflight.end())
								it->second.t_req = now;
						}
						if (fresh && f.type == RMEM_FPGA_FRAME_DATA) {
							// the peer's fetch this answers
							auto r = c[1 - s].inflight.find(f.tag);
							CHECK(r != c[1 - s].inflight.end(), "card %d: DATA for a tag the peer has not in flight", s);
							if (r != c[1 - s].inflight.end()) {
								unsigned &n_sent = k.served_next[f.tag];

								for (int i = 0; i < 8; i++)
									CHECK(f.data[i] == host_word(s, r->second.remote << 6 | f.line, i),
									      "card %d: DATA frame with wrong bytes", s);
								CHECK(f.line == rmem_fpga_fetch_line(r->second.wanted, n_sent),
								      "card %d: line %u sent %u-th for wanted %u", s,
								      f.line, n_sent, r->second.wanted);
								n_sent = (n_sent + 1) % 64;
							}
						}
					}
					k.txw.clear();
				}
				ch[s].take(v->tx_data, v->tx_last, now);
			}
			if ((k.completed < nfetch && !(serial && s == 1)) || !k.regq.empty())
				done = false;
		}
		for (auto &k : c) {
			k.v->clk = 1; k.v->eval(); k.v->clk = 0; k.v->eval();
		}
		if (done)
			break;
	}

	// counters
	uint64_t crc_seen = 0, retx = 0, dropped = 0;
	for (int s = 0; s < 2; s++) {
		card &k = c[s];
		Vrmem_fetch *v = k.v.get();
		auto reg = [&](uint16_t a) { v->reg_rd = 0; v->reg_wr = 0; v->reg_addr = a; v->eval(); return (uint64_t)v->reg_rdata; };

		CHECK(k.completed == (serial && s ? 0 : nfetch), "card %d: %" PRIu64 " of %" PRIu64 " fetches completed in %" PRIu64 " cycles",
		      s, k.completed, nfetch, now);
		CHECK(reg(RMEM_FPGA_REG_CNT_FETCHES) == k.completed, "card %d: CNT_FETCHES %" PRIu64, s, reg(RMEM_FPGA_REG_CNT_FETCHES));
		CHECK(reg(RMEM_FPGA_REG_CNT_SERVED) == c[1 - s].completed, "card %d: CNT_SERVED %" PRIu64, s, reg(RMEM_FPGA_REG_CNT_SERVED));
		CHECK(reg(RMEM_FPGA_REG_CNT_REJECTED) == k.rejected_expected, "card %d: CNT_REJECTED %" PRIu64 ", expected %" PRIu64,
		      s, reg(RMEM_FPGA_REG_CNT_REJECTED), k.rejected_expected);
		CHECK(reg(RMEM_FPGA_REG_FETCH_PENDING) == 0, "card %d: fetches still pending", s);
		crc_seen += reg(RMEM_FPGA_REG_CNT_CRC_ERRORS);
		retx += reg(RMEM_FPGA_REG_CNT_RETRANSMITS);
		dropped += reg(RMEM_FPGA_REG_CNT_DROPPED);
	}
	// (a corrupted frame may still be on the wire when the last fetch ends)
	CHECK(crc_seen == ch[0].flipped_in + ch[1].flipped_in,
	      "%" PRIu64 " CRC errors counted, %" PRIu64 " corrupted frames received",
	      crc_seen, ch[0].flipped_in + ch[1].flipped_in);
	if (ch[0].flipped + ch[1].flipped + ch[0].lost + ch[1].lost)
		CHECK(retx > 0, "frames were corrupted or lost, and none was sent again");
	if (!quiet || bad) {
		double n = c[0].completed + c[1].completed;
		printf("%" PRIu64 " fetches %s in %" PRIu64 " cycles; %" PRIu64 " frames corrupted, %" PRIu64
		       " lost, %" PRIu64 " resent, %" PRIu64 " dropped for room\n", nfetch,
		       serial ? "one at a time, A from B" : "each way", now,
		       ch[0].flipped + ch[1].flipped, ch[0].lost + ch[1].lost, retx, dropped);
		if (n)
			printf("mean cycles from the REQ's sending: wanted line %.0f, whole page %.0f\n",
			       (c[0].crit_cycles + c[1].crit_cycles) / n, (c[0].done_cycles + c[1].done_cycles) / n);
	}
	for (auto &k : c)
		k.v->final();
	if (bad) {
		fprintf(stderr, "tb_fetch: FAILED (seed %" PRIu64 ")\n", seed);
		return 1;
	}
	return 0;
}
