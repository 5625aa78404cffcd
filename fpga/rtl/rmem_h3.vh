// The tracker's H3 hash rows, as constants: the same xorshift64 recipe as
// rmem_fpga_h3_row() in include/uapi/linux/rmem_fpga.h, so that the RTL
// and the C model hash identically. Included inside a module.
function automatic [63:0] rmem_h3_row(input [63:0] seed, input integer i,
				      input integer j);
	reg [63:0] x;
	reg [31:0] n;
	integer r;
	begin
		n = i * 64 + j + 1;
		x = seed ^ ({32'd0, n} * 64'h9e3779b97f4a7c15);
		for (r = 0; r < 4; r = r + 1) begin
			x = x ^ (x << 13);
			x = x ^ (x >> 7);
			x = x ^ (x << 17);
		end
		rmem_h3_row = x;
	end
endfunction
