// rmem remote-fetch engine: the IBM CAPI design with PBerry's
// critical-word-first, one card's half of a point-to-point link.
//
// Requester: the host submits a fetch through registers (local page,
// tag and wanted line, then the remote page, which submits). A REQ frame
// goes to the peer; the peer's DATA frames bring the page one line each,
// the wanted line first. That line is handed out on the crit_* port the
// cycle its frame is taken; every line lands in local memory through the
// lw_* port; when the last has landed, the tag goes to the completion
// queue (FETCH_DONE), and the tag is free again once the host has read it
// there. 2^TAG_BITS fetches may be in flight; a submission with a busy
// tag is refused and counted.
//
// Responder: a REQ from the peer queues (2^REQ_ORDER deep); the engine
// reads the page from its host memory (hr_* port; answers come in order)
// starting at the wanted line, and sends each line as a DATA frame.
//
// Link: frames of 64-bit words with a CRC-32C trailer, numbered REQ and
// DATA frames under go-back-N with a window of 2^WIN_ORDER frames kept
// in a block-RAM buffer for resending, ACK/NAK control frames, and a
// timeout. A frame with a bad CRC, or a good one that finds no room, is
// dropped and recovered by resending: the link never stalls its sender.
// Formats: include/uapi/linux/rmem_fpga.h; the C model checks every frame
// this engine sends (fpga/tb/tb_fetch.cpp).
`include "rmem_fpga_defs.vh"

module rmem_fetch #(
	parameter TAG_BITS = 3,
	parameter WIN_ORDER = 4,
	parameter REQ_ORDER = 2,
	parameter TIMEOUT = 2048
) (
	input wire clk,
	input wire rst,
	input wire enable,
	// registers
	input wire reg_wr,
	input wire reg_rd,
	input wire [11:0] reg_addr,
	input wire [63:0] reg_wdata,
	output reg [63:0] reg_rdata,
	output reg reg_hit,
	// the wanted line, as soon as it arrives
	output reg crit_valid,
	output reg [7:0] crit_tag,
	output reg [511:0] crit_data,
	// the page landing in local memory
	output wire lw_valid,
	input wire lw_ready,
	output wire [63:0] lw_addr,
	output wire [511:0] lw_data,
	// host memory reads, for pages the peer fetches
	output wire hr_valid,
	input wire hr_ready,
	output wire [63:0] hr_addr,
	input wire hr_rvalid,
	input wire [511:0] hr_rdata,
	// the link
	output wire tx_valid,
	input wire tx_ready,
	output wire [63:0] tx_data,
	output wire tx_last,
	input wire rx_valid,
	input wire [63:0] rx_data,
	input wire rx_last
);
	localparam TAGS = 1 << TAG_BITS;
	localparam WIN = 1 << WIN_ORDER;
	localparam REQS = 1 << REQ_ORDER;
	localparam [7:0] T_REQ = `RMEM_FPGA_FRAME_REQ, T_DATA = `RMEM_FPGA_FRAME_DATA,
			 T_ACK = `RMEM_FPGA_FRAME_ACK, T_NAK = `RMEM_FPGA_FRAME_NAK;
	localparam [31:0] POLY = `RMEM_FPGA_CRC32C_POLY;
	localparam [7:0] CFG_TAG_BITS = TAG_BITS[7:0], CFG_WIN_ORDER = WIN_ORDER[7:0],
			 CFG_REQ_ORDER = REQ_ORDER[7:0];

	function automatic [31:0] crc_word(input [31:0] crc_in, input [63:0] w);
		reg [31:0] c;
		integer b;
		begin
			c = crc_in;
			for (b = 0; b < 64; b = b + 1)
				c = (c >> 1) ^ ((c[0] ^ w[b]) ? POLY : 32'd0);
			crc_word = c;
		end
	endfunction

	function automatic [63:0] hdr(input [7:0] t, input [15:0] seq, input [7:0] tag,
				      input [5:0] line);
		hdr = {26'd0, line, tag, seq, t};
	endfunction

	// ---- counters and the register block -----------------------------
	reg [63:0] c_fetches, c_served, c_crc, c_retx, c_rejected, c_dropped;
	reg [63:0] sub_local;		// FETCH_LOCAL: page number
	reg [15:0] sub_line;		// FETCH_LINE: tag << 8 | line

	// ---- the send window ------------------------------------------------
	reg [15:0] base, next_send, next_free, sent_hi;
	reg [WIN_ORDER:0] reserved;	// slots promised to host reads in flight
	wire [15:0] in_use = next_free - base;
	wire [15:0] room_used = in_use + {{(15 - WIN_ORDER){1'b0}}, reserved};

	// the resend buffer: header fields and payload of each frame
	reg buf_we;
	reg [WIN_ORDER-1:0] buf_waddr, buf_raddr;
	reg [575:0] buf_wdata;
	wire [575:0] buf_rdata;
	rmem_sdp_ram #(.WIDTH(576), .ORDER(WIN_ORDER)) frames (
		.clk(clk), .we(buf_we), .waddr(buf_waddr), .wdata(buf_wdata),
		.raddr(buf_raddr), .rdata(buf_rdata));

	// ---- requester state ------------------------------------------------
	reg [TAGS-1:0] busy, crit_done;
	reg [63:0] got[0:TAGS-1];
	reg [51:0] local_pg[0:TAGS-1];
	reg [63:0] remote_pg[0:TAGS-1];
	reg [5:0] wanted[0:TAGS-1];
	// tags waiting for their REQ frame, and completed tags, in order
	reg [TAG_BITS-1:0] reqq[0:TAGS-1], doneq[0:TAGS-1];
	reg [TAG_BITS:0] reqq_n, doneq_n;
	reg [TAG_BITS-1:0] reqq_rd, reqq_wr, doneq_rd, doneq_wr;

	// the line being landed
	reg land_valid, land_last;
	reg [63:0] land_addr;
	reg [511:0] land_data;
	reg [TAG_BITS-1:0] land_tag;
	assign lw_valid = land_valid;
	assign lw_addr = land_addr;
	assign lw_data = land_data;
	wire land_fire = land_valid && lw_ready;

	// ---- responder state ------------------------------------------------
	reg [7:0] rq_tag[0:REQS-1];
	reg [5:0] rq_line[0:REQS-1];
	reg [51:0] rq_page[0:REQS-1];
	reg [REQ_ORDER:0] rq_n;
	reg [REQ_ORDER-1:0] rq_rd, rq_wr;
	reg srv_active;
	reg [7:0] srv_tag;
	reg [5:0] srv_line;
	reg [51:0] srv_page;
	reg [6:0] srv_issued, srv_back;
	assign hr_valid = srv_active && srv_issued != 7'd64 && enable &&
			  room_used < WIN[15:0];
	assign hr_addr = {srv_page, srv_line + srv_issued[5:0], 6'd0};
	wire hr_fire = hr_valid && hr_ready;

	// ---- receive: assemble, check, then act -----------------------------
	reg [3:0] rx_n;
	reg rx_long;
	reg [31:0] rx_crc;
	reg [63:0] rx_hdr;
	reg [511:0] rx_pay;
	reg f_valid, f_ok;
	reg [37:0] f_hdr;
	reg [511:0] f_pay;
	reg [15:0] rx_expected;
	reg ack_pending, nak_pending, nak_sent;

	wire [7:0] f_type = f_hdr[7:0];
	wire [15:0] f_seq = f_hdr[23:8];
	wire [7:0] f_tag = f_hdr[31:24];
	wire [5:0] f_line = f_hdr[37:32];
	wire [TAG_BITS-1:0] f_t = f_tag[TAG_BITS-1:0];

	always @(posedge clk) begin
		f_valid <= 1'b0;
		if (rst) begin
			rx_n <= 4'd0;
			rx_long <= 1'b0;
			rx_crc <= 32'hffffffff;
		end else if (rx_valid) begin
			if (rx_last) begin
				f_valid <= 1'b1;
				f_hdr <= rx_hdr[37:0];
				f_pay <= rx_pay;
				f_ok <= !rx_long && rx_data[63:32] == 32'd0 &&
					rx_data[31:0] == ~rx_crc && rx_hdr[63:38] == 26'd0 &&
					(((rx_hdr[7:0] == T_ACK || rx_hdr[7:0] == T_NAK) && rx_n == 4'd1) ||
					 (rx_hdr[7:0] == T_REQ && rx_n == 4'd2) ||
					 (rx_hdr[7:0] == T_DATA && rx_n == 4'd9));
				rx_n <= 4'd0;
				rx_long <= 1'b0;
				rx_crc <= 32'hffffffff;
			end else begin
				if (rx_n == 4'd0)
					rx_hdr <= rx_data;
				else if (rx_n <= 4'd8)
					rx_pay[{rx_n[2:0] - 3'd1, 6'd0} +: 64] <= rx_data;
				if (rx_n == 4'd10)
					rx_long <= 1'b1;
				else
					rx_n <= rx_n + 4'd1;
				rx_crc <= crc_word(rx_crc, rx_data);
			end
		end
	end

	// what a good numbered frame does, if it is the next one
	wire f_next = f_valid && f_ok && (f_type == T_REQ || f_type == T_DATA) &&
		      f_seq == rx_expected;
	wire f_ahead = f_valid && f_ok && (f_type == T_REQ || f_type == T_DATA) &&
		       f_seq != rx_expected && !(f_seq - rx_expected > 16'h7fff);
	wire data_ok = f_type == T_DATA && enable && !land_valid && f_tag < TAGS &&
		       busy[f_t] && !got[f_t][f_line];
	wire req_ok = f_type == T_REQ && enable && rq_n != REQS[REQ_ORDER:0];
	wire take = f_next && (data_ok || req_ok);
	wire [15:0] f_ack_gap = f_seq - base;
	wire f_acks = f_valid && f_ok && (f_type == T_ACK || f_type == T_NAK) &&
		      f_ack_gap <= in_use;

	// ---- transmit: control frames first, then the window in order ------
	localparam S_IDLE = 2'd0, S_LOAD = 2'd1, S_SEND = 2'd2;
	reg [1:0] tx_state;
	reg [3:0] tx_i, tx_words;	// word index; payload words of this frame
	reg [31:0] tx_crc;
	reg [63:0] tx_hdr;
	reg [511:0] tx_pay;
	reg [15:0] tx_seq;
	reg rewind;
	reg [15:0] rewind_to;
	reg [31:0] timer;

	wire [63:0] tx_word = tx_i == 4'd0 ? tx_hdr :
			      tx_i <= tx_words ? tx_pay[{tx_i[2:0] - 3'd1, 6'd0} +: 64] :
			      {32'd0, ~tx_crc};
	assign tx_valid = tx_state == S_SEND;
	assign tx_data = tx_word;
	assign tx_last = tx_i == tx_words + 4'd1;
	wire tx_fire = tx_valid && tx_ready;

	// a frame to put in the window this cycle: a host read's answer first.
	// REQs are sent only while the peer's queue (REQ_ORDER, the same on
	// both cards) surely has room for them: a REQ it had to drop would
	// block every frame behind it, its DATA too, and both cards would wait
	// on each other for ever
	reg [REQ_ORDER+1:0] req_out;	// REQs sent for fetches not complete
	wire req_can = reqq_n != 0 && !hr_rvalid && req_out < REQS[REQ_ORDER+1:0] &&
		       room_used + {15'd0, hr_fire} < WIN[15:0];
	wire [TAG_BITS-1:0] req_tag = reqq[reqq_rd];


	always @* begin
		buf_we = 1'b0;
		buf_waddr = next_free[WIN_ORDER-1:0];
		buf_wdata = 576'd0;
		if (hr_rvalid) begin
			buf_we = 1'b1;
			buf_wdata = {hr_rdata, hdr(T_DATA, 16'd0, srv_tag,
						   srv_line + srv_back[5:0])};
		end else if (req_can) begin
			buf_we = 1'b1;
			buf_wdata = {448'd0, remote_pg[req_tag],
				     hdr(T_REQ, 16'd0, {{(8 - TAG_BITS){1'b0}}, req_tag},
					 wanted[req_tag])};
		end
		buf_raddr = next_send[WIN_ORDER-1:0];
	end

	wire submit = reg_wr && reg_addr == `RMEM_FPGA_REG_FETCH_REMOTE;
	wire [7:0] sub_tag = sub_line[15:8];
	wire sub_ok = enable && sub_tag < TAGS && !busy[sub_tag[TAG_BITS-1:0]];
	wire pop_done = reg_rd && reg_addr == `RMEM_FPGA_REG_FETCH_DONE && doneq_n != 0;

	always @(posedge clk) begin
		crit_valid <= 1'b0;
		if (rst) begin
			base <= 16'd0;
			next_send <= 16'd0;
			next_free <= 16'd0;
			sent_hi <= 16'd0;
			reserved <= {(WIN_ORDER + 1){1'b0}};
			busy <= {TAGS{1'b0}};
			reqq_n <= {(TAG_BITS + 1){1'b0}};
			req_out <= {(REQ_ORDER + 2){1'b0}};
			doneq_n <= {(TAG_BITS + 1){1'b0}};
			reqq_rd <= {TAG_BITS{1'b0}};
			reqq_wr <= {TAG_BITS{1'b0}};
			doneq_rd <= {TAG_BITS{1'b0}};
			doneq_wr <= {TAG_BITS{1'b0}};
			land_valid <= 1'b0;
			rq_n <= {(REQ_ORDER + 1){1'b0}};
			rq_rd <= {REQ_ORDER{1'b0}};
			rq_wr <= {REQ_ORDER{1'b0}};
			srv_active <= 1'b0;
			rx_expected <= 16'd0;
			ack_pending <= 1'b0;
			nak_pending <= 1'b0;
			nak_sent <= 1'b0;
			tx_state <= S_IDLE;
			rewind <= 1'b0;
			timer <= 32'd0;
			c_fetches <= 64'd0;
			c_served <= 64'd0;
			c_crc <= 64'd0;
			c_retx <= 64'd0;
			c_rejected <= 64'd0;
			c_dropped <= 64'd0;
			sub_local <= 64'd0;
			sub_line <= 16'd0;
		end else begin
			// -- registers and submissions
			if (reg_wr && reg_addr == `RMEM_FPGA_REG_FETCH_LOCAL)
				sub_local <= reg_wdata;
			if (reg_wr && reg_addr == `RMEM_FPGA_REG_FETCH_LINE)
				sub_line <= {reg_wdata[15:8], 2'd0, reg_wdata[5:0]};
			if (submit && !sub_ok)
				c_rejected <= c_rejected + 64'd1;

			// -- the window: frames in, ACK/NAK, timeout
			if (buf_we)
				next_free <= next_free + 16'd1;
			if (hr_rvalid) begin
				srv_back <= srv_back + 7'd1;
				if (srv_back == 7'd63) begin
					srv_active <= 1'b0;
					c_served <= c_served + 64'd1;
				end
			end
			reserved <= reserved + {{WIN_ORDER{1'b0}}, hr_fire} -
				    {{WIN_ORDER{1'b0}}, hr_rvalid};
			if (f_acks) begin
				base <= f_seq;
				if (f_seq != base)
					timer <= 32'd0;
				if (f_type == T_NAK) begin
					rewind <= 1'b1;
					rewind_to <= f_seq;
				end
			end else if (in_use != 16'd0) begin
				if (timer == TIMEOUT - 1) begin
					timer <= 32'd0;
					rewind <= 1'b1;
					rewind_to <= base;
				end else begin
					timer <= timer + 32'd1;
				end
			end else begin
				timer <= 32'd0;
			end

			// -- transmit
			case (tx_state)
			S_IDLE:
				if (nak_pending || ack_pending) begin
					tx_hdr <= hdr(nak_pending ? T_NAK : T_ACK, rx_expected, 8'd0, 6'd0);
					tx_words <= 4'd0;
					tx_i <= 4'd0;
					tx_crc <= 32'hffffffff;
					tx_state <= S_SEND;
					ack_pending <= 1'b0;
					nak_pending <= 1'b0;
				end else if (rewind) begin
					// go back, but never to frames already acknowledged
					next_send <= rewind_to - base > in_use ? base : rewind_to;
					rewind <= 1'b0;
				end else if (next_send - base < in_use) begin
					tx_seq <= next_send;
					next_send <= next_send + 16'd1;
					tx_state <= S_LOAD;
				end else if (next_send - base > in_use) begin
					next_send <= base;	// acknowledged while waiting
				end
			S_LOAD: begin
				tx_hdr <= buf_rdata[63:0] | {40'd0, tx_seq, 8'd0};
				tx_pay <= buf_rdata[575:64];
				tx_words <= buf_rdata[7:0] == T_DATA ? 4'd8 : 4'd1;
				tx_i <= 4'd0;
				tx_crc <= 32'hffffffff;
				tx_state <= S_SEND;
				if (tx_seq - sent_hi > 16'h7fff)
					c_retx <= c_retx + 64'd1;
				else
					sent_hi <= tx_seq + 16'd1;
			end
			default:
				if (tx_fire) begin
					if (tx_last)
						tx_state <= S_IDLE;
					else
						tx_crc <= crc_word(tx_crc, tx_word);
					tx_i <= tx_i + 4'd1;
				end
			endcase

			// -- receive: the frame checked last cycle
			if (f_valid && !f_ok) begin
				c_crc <= c_crc + 64'd1;
				if (!nak_sent) begin
					nak_pending <= 1'b1;
					nak_sent <= 1'b1;
				end
			end else if (take) begin
				rx_expected <= rx_expected + 16'd1;
				ack_pending <= 1'b1;
				nak_sent <= 1'b0;
			end else if (f_next) begin
				c_dropped <= c_dropped + 64'd1;	// no room: ask for it again
				if (!nak_sent) begin
					nak_pending <= 1'b1;
					nak_sent <= 1'b1;
				end
			end else if (f_ahead) begin
				if (!nak_sent) begin		// one was lost
					nak_pending <= 1'b1;
					nak_sent <= 1'b1;
				end
			end else if (f_valid && f_ok && (f_type == T_REQ || f_type == T_DATA)) begin
				ack_pending <= 1'b1;		// a resent one we have
			end

			// -- requester: REQ frames out, DATA frames in, landing
			if (submit && sub_ok) begin
				busy[sub_tag[TAG_BITS-1:0]] <= 1'b1;
				crit_done[sub_tag[TAG_BITS-1:0]] <= 1'b0;
				got[sub_tag[TAG_BITS-1:0]] <= 64'd0;
				local_pg[sub_tag[TAG_BITS-1:0]] <= sub_local[51:0];
				remote_pg[sub_tag[TAG_BITS-1:0]] <= reg_wdata;
				wanted[sub_tag[TAG_BITS-1:0]] <= sub_line[5:0];
				reqq[reqq_wr] <= sub_tag[TAG_BITS-1:0];
				reqq_wr <= reqq_wr + 1'b1;
			end
			if (req_can)
				reqq_rd <= reqq_rd + 1'b1;
			reqq_n <= reqq_n + {{TAG_BITS{1'b0}}, submit && sub_ok} -
				  {{TAG_BITS{1'b0}}, req_can};
			req_out <= req_out + {{(REQ_ORDER + 1){1'b0}}, req_can} -
				   {{(REQ_ORDER + 1){1'b0}}, land_fire && land_last};
			if (take && f_type == T_DATA) begin
				land_valid <= 1'b1;
				land_addr <= {local_pg[f_t], f_line, 6'd0};
				land_data <= f_pay;
				land_tag <= f_t;
				land_last <= (got[f_t] | (64'd1 << f_line)) == {64{1'b1}};
				got[f_t][f_line] <= 1'b1;
				if (f_line == wanted[f_t] && !crit_done[f_t]) begin
					crit_valid <= 1'b1;
					crit_tag <= f_tag;
					crit_data <= f_pay;
					crit_done[f_t] <= 1'b1;
				end
			end else if (land_fire) begin
				land_valid <= 1'b0;
			end
			if (land_fire && land_last) begin
				doneq[doneq_wr] <= land_tag;
				doneq_wr <= doneq_wr + 1'b1;
				c_fetches <= c_fetches + 64'd1;
			end
			if (pop_done) begin
				// the tag is the host's again only once it has read it
				busy[doneq[doneq_rd]] <= 1'b0;
				doneq_rd <= doneq_rd + 1'b1;
			end
			doneq_n <= doneq_n + {{TAG_BITS{1'b0}}, land_fire && land_last} -
				   {{TAG_BITS{1'b0}}, pop_done};

			// -- responder: REQs queue, pages are read in turn
			if (take && f_type == T_REQ) begin
				rq_tag[rq_wr] <= f_tag;
				rq_line[rq_wr] <= f_line;
				rq_page[rq_wr] <= f_pay[51:0];
				rq_wr <= rq_wr + 1'b1;
			end
			if (!srv_active && rq_n != 0) begin
				srv_active <= 1'b1;
				srv_tag <= rq_tag[rq_rd];
				srv_line <= rq_line[rq_rd];
				srv_page <= rq_page[rq_rd];
				srv_issued <= 7'd0;
				srv_back <= 7'd0;
				rq_rd <= rq_rd + 1'b1;
			end else if (hr_fire) begin
				srv_issued <= srv_issued + 7'd1;
			end
			rq_n <= rq_n + {{REQ_ORDER{1'b0}}, take && f_type == T_REQ} -
				{{REQ_ORDER{1'b0}}, !srv_active && rq_n != 0};
		end
	end

	// ---- register reads ----------------------------------------------
	integer n;
	reg [63:0] pending;
	always @* begin
		pending = 64'd0;
		for (n = 0; n < TAGS; n = n + 1)
			pending = pending + {63'd0, busy[n]};
		reg_hit = 1'b1;
		case (reg_addr)
		`RMEM_FPGA_REG_FETCH_CONFIG:
			reg_rdata = {40'd0, CFG_REQ_ORDER, CFG_WIN_ORDER, CFG_TAG_BITS};
		`RMEM_FPGA_REG_FETCH_LOCAL: reg_rdata = sub_local;
		`RMEM_FPGA_REG_FETCH_LINE: reg_rdata = {48'd0, sub_line};
		`RMEM_FPGA_REG_FETCH_DONE:
			reg_rdata = doneq_n != 0 ? (`RMEM_FPGA_DONE_VALID |
				    {{(64 - TAG_BITS){1'b0}}, doneq[doneq_rd]}) : 64'd0;
		`RMEM_FPGA_REG_FETCH_PENDING: reg_rdata = pending;
		`RMEM_FPGA_REG_CNT_FETCHES: reg_rdata = c_fetches;
		`RMEM_FPGA_REG_CNT_SERVED: reg_rdata = c_served;
		`RMEM_FPGA_REG_CNT_CRC_ERRORS: reg_rdata = c_crc;
		`RMEM_FPGA_REG_CNT_RETRANSMITS: reg_rdata = c_retx;
		`RMEM_FPGA_REG_CNT_REJECTED: reg_rdata = c_rejected;
		`RMEM_FPGA_REG_CNT_DROPPED: reg_rdata = c_dropped;
		default: begin
			reg_rdata = 64'd0;
			reg_hit = 1'b0;
		end
		endcase
	end
endmodule
