// Simple dual-port RAM: one synchronous write port, one synchronous read
// port, read-before-write on the same address. Written this way so that
// yosys and vendor tools map it to block RAM.
module rmem_sdp_ram #(
	parameter WIDTH = 1,
	parameter ORDER = 10
) (
	input wire clk,
	input wire we,
	input wire [ORDER-1:0] waddr,
	input wire [WIDTH-1:0] wdata,
	input wire [ORDER-1:0] raddr,
	output reg [WIDTH-1:0] rdata
);
	reg [WIDTH-1:0] mem[0:(1 << ORDER) - 1];

	always @(posedge clk) begin
		if (we)
			mem[waddr] <= wdata;
		rdata <= mem[raddr];
	end
endmodule
