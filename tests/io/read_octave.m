function read_octave (file, index, out)
  % read_octave (FILE, INDEX, OUT) - read prompt INDEX (0-based row of /sweep) of an attnsweep
  % format-2 file the way docs/FORMAT.md tells MATLAB / Octave users to, with the netCDF
  % package (Debian: octave-netcdf; netCDF-4 reads HDF5 dimension scales):
  %   ncread (file, '/group/var', start, count)   start 1-based, axes reversed (Fortran order)
  % Prints what it read, and writes every value to OUT, one line per quantity:
  %   name <TAB> size (Octave's, comma-separated) <TAB> values of x(:) with %.17g
  % so that test_octave.sh can compare them with h5py exactly. Only numeric datasets are read:
  % octave-netcdf cannot read string datasets or string attributes (NC_STRING).
  try
    pkg load netcdf
  catch err
    fprintf (stderr, 'read_octave: the netcdf package is missing (Debian: octave-netcdf): %s\n', err.message);
    exit (3);
  end_try_catch
  i = index + 1;                                   % Octave rows are 1-based
  N = double (ncreadatt (file, '/', 'n_prompts'));
  L = double (ncreadatt (file, '/', 'n_layers'));
  H = double (ncreadatt (file, '/', 'n_heads'));
  if (index < 0 || index >= N)
    error ('read_octave: prompt index %d outside 0..%d', index, N - 1);
  end
  T = double (ncread (file, '/sweep/n_tokens', i, 1));
  s = double (ncread (file, '/sweep/token_start', i, 1));
  a = double (ncread (file, '/sweep/text_start', i, 1));
  n = double (ncread (file, '/sweep/text_length', i, 1));
  st = ncread (file, '/sweep/status', i, 1);
  text = ncread (file, '/text/utf8', a + 1, n);              % uint8 [n, 1]
  ids = ncread (file, '/tokens/token_id', s + 1, T);         % int32 [T, 1]
  offs = ncread (file, '/tokens/offsets', [1, s + 1], [2, T]);  % int32 [2, T]: (bound, token)
  pos = ncread (file, '/tokens/position', s + 1, T);
  fid = fopen (out, 'w');
  put (fid, 'n_tokens', T);
  put (fid, 'token_start', s);
  put (fid, 'status', st);
  put (fid, 'text', text);
  put (fid, 'token_id', ids);
  put (fid, 'offsets', offs);
  put (fid, 'position', pos);
  printf ('prompt row %d of %d: %d tokens from token row %d, status %d, L = %d, H = %d\n', ...
          index, N, T, s, st, L, H);
  printf ('text (%d bytes): %s\n', n, char (text'));
  printf ('token ids:'); printf (' %d', ids); printf ('\n');
  printf ('byte offsets [start end) per token:'); printf (' [%d %d)', offs); printf ('\n');
  if (has_var (file, 'attention', 'full'))
    a0 = double (ncread (file, '/sweep/attention_start', i, 1));
    % one contiguous slice of the flat dataset (no dimension scale: netCDF gives it a phony dim)
    att = reshape (ncread (file, '/attention/full', a0 + 1, L * H * T * T), [T, T, H, L]);
    put (fid, 'attention_start', a0);
    put (fid, 'full', att);              % (key, query, head, layer)
    printf ('attention/full block at %d: size %s (key, query, head, layer), class %s\n', ...
            a0, mat2str (size (att)), class (att));
    printf ('last stored layer, first head, query x key:\n');
    disp (att(:, :, 1, L)');
  elseif (has_var (file, 'attention', 'last_row'))
    att = ncread (file, '/attention/last_row', [1, 1, s + 1], [H, L, T]);  % [H, L, T]
    put (fid, 'last_row', att);
    printf ('attention/last_row rows %d..%d: size %s (head, layer, key), class %s\n', ...
            s, s + T - 1, mat2str (size (att)), class (att));
    printf ('last stored layer, key x head:\n');
    disp (squeeze (att(:, L, :))');
  else
    printf ('no stored attention (store none)\n');
  end
  if (has_var (file, 'metrics', 'head_entropy'))
    he = ncread (file, '/metrics/head_entropy', [1, 1, i], [H, L, 1]);     % [H, L]
    put (fid, 'head_entropy', he);
    printf ('metrics/head_entropy (head x layer):\n');
    disp (he);
  else
    printf ('no /metrics/head_entropy\n');
  end
  fclose (fid);
end

function put (fid, name, x)
  % one line: name, Octave size, then x(:) exactly (%.17g round-trips a double)
  fprintf (fid, '%s\t%s\t', name, strjoin (arrayfun (@num2str, size (x), 'UniformOutput', false), ','));
  fprintf (fid, ' %.17g', double (x(:)));
  fprintf (fid, '\n');
end

function yes = has_var (file, group, name)
  % whether /group/name exists (netCDF low-level API; ncinfo fails on groups with string attributes)
  yes = false;
  nc = netcdf_open (file, 'NC_NOWRITE');
  try
    g = netcdf_inqNcid (nc, group);
    netcdf_inqVarID (g, name);
    yes = true;
  catch
  end_try_catch
  netcdf_close (nc);
end
