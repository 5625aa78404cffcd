// rmem FPGA top: the tracker and the fetch engine behind one 4 KiB
// register window (include/uapi/linux/rmem_fpga.h, Documentation/fpga.rst).
// The top holds ID, VERSION and CTRL; every other offset goes to the unit
// that owns it. A read answers the cycle after its strobe; a read of an
// offset no one owns answers 0. The host memory ports are the units' own:
// a real shell would arbitrate them onto one bus.
`include "rmem_fpga_defs.vh"

module rmem_fpga (
	input wire clk,
	input wire rst,
	// MMIO
	input wire reg_wr,
	input wire reg_rd,
	input wire [11:0] reg_addr,
	input wire [63:0] reg_wdata,
	output reg [63:0] reg_rdata,
	// tracker: write-backs in, log entries out
	input wire wb_valid,
	output wire wb_ready,
	input wire [41:0] wb_line,
	output wire mw_valid,
	input wire mw_ready,
	output wire [63:0] mw_addr,
	output wire [63:0] mw_data,
	// fetch engine
	output wire crit_valid,
	output wire [7:0] crit_tag,
	output wire [511:0] crit_data,
	output wire lw_valid,
	input wire lw_ready,
	output wire [63:0] lw_addr,
	output wire [511:0] lw_data,
	output wire hr_valid,
	input wire hr_ready,
	output wire [63:0] hr_addr,
	input wire hr_rvalid,
	input wire [511:0] hr_rdata,
	output wire tx_valid,
	input wire tx_ready,
	output wire [63:0] tx_data,
	output wire tx_last,
	input wire rx_valid,
	input wire [63:0] rx_data,
	input wire rx_last
);
	reg [1:0] ctrl;
	wire [63:0] trk_rdata, fetch_rdata;
	wire trk_hit, fetch_hit;

	rmem_tracker tracker (
		.clk(clk), .rst(rst), .enable(ctrl[0]),
		.wb_valid(wb_valid), .wb_ready(wb_ready), .wb_line(wb_line),
		.mw_valid(mw_valid), .mw_ready(mw_ready), .mw_addr(mw_addr), .mw_data(mw_data),
		.reg_wr(reg_wr), .reg_addr(reg_addr), .reg_wdata(reg_wdata),
		.reg_rdata(trk_rdata), .reg_hit(trk_hit));

	rmem_fetch fetch (
		.clk(clk), .rst(rst), .enable(ctrl[1]),
		.reg_wr(reg_wr), .reg_rd(reg_rd), .reg_addr(reg_addr), .reg_wdata(reg_wdata),
		.reg_rdata(fetch_rdata), .reg_hit(fetch_hit),
		.crit_valid(crit_valid), .crit_tag(crit_tag), .crit_data(crit_data),
		.lw_valid(lw_valid), .lw_ready(lw_ready), .lw_addr(lw_addr), .lw_data(lw_data),
		.hr_valid(hr_valid), .hr_ready(hr_ready), .hr_addr(hr_addr),
		.hr_rvalid(hr_rvalid), .hr_rdata(hr_rdata),
		.tx_valid(tx_valid), .tx_ready(tx_ready), .tx_data(tx_data), .tx_last(tx_last),
		.rx_valid(rx_valid), .rx_data(rx_data), .rx_last(rx_last));

	always @(posedge clk) begin
		if (rst) begin
			ctrl <= 2'd0;
			reg_rdata <= 64'd0;
		end else begin
			if (reg_wr && reg_addr == `RMEM_FPGA_REG_CTRL)
				ctrl <= reg_wdata[1:0];
			if (reg_rd) begin
				case (reg_addr)
				`RMEM_FPGA_REG_ID: reg_rdata <= `RMEM_FPGA_ID_MAGIC;
				`RMEM_FPGA_REG_VERSION: reg_rdata <= `RMEM_FPGA_MAP_VERSION;
				`RMEM_FPGA_REG_CTRL: reg_rdata <= {62'd0, ctrl};
				default:
					reg_rdata <= trk_hit ? trk_rdata : fetch_hit ? fetch_rdata : 64'd0;
				endcase
			end
		end
	end
endmodule
